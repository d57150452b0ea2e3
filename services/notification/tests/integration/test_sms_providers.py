import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from motcua.notification.deliveries import Delivery
from motcua.notification.model import PermanentSendError, ProviderDown, RetryableSendError
from motcua.notification.settings import Settings
from motcua.notification.sms import LogSms, WebhookSms
from structlog.testing import capture_logs

NOW = datetime.now(UTC)


def _sms(text: str = "Mã xác thực Một cửa: 654321") -> Delivery:
    return Delivery(
        id=uuid.uuid4().hex,
        cause_event_id=uuid.uuid4().hex,
        cause_event_type="test",
        channel="sms",
        recipient="+84912000111",
        message={"text": text},
    )


async def test_the_webhook_posts_json_with_a_bearer_token_and_classifies_every_answer(
    kit: Any, hand_overs: Any
) -> None:
    gateway = kit.sms
    marks = hand_overs
    webhook = WebhookSms(
        Settings(
            deployment_environment="development",
            sms_provider="webhook",
            sms_webhook_url=gateway.url,
            sms_webhook_token="gw-token",
            sms_webhook_timeout_seconds=0.3,
        )
    )
    try:
        gateway.answer_next(200, 429, 408, 503, 404, 422)
        sms = _sms()
        assert await webhook.send(sms, now=NOW, hand_over=marks) == "HTTP 200"
        for _ in range(3):
            with pytest.raises(RetryableSendError):
                await webhook.send(sms, now=NOW, hand_over=marks)
        for _ in range(2):
            with pytest.raises(PermanentSendError):
                await webhook.send(sms, now=NOW, hand_over=marks)
        sent = gateway.tried("+84912000111")
        assert sent[0].text == "Mã xác thực Một cửa: 654321"
        assert {r.idempotency_key for r in sent} == {sms.id}
        assert {r.authorization for r in sent} == {"Bearer gw-token"}
        assert marks.count == len(gateway.requests) == 6  # each marked handed over just before its POST

        gateway.answer_delay = 1.0
        with pytest.raises(RetryableSendError, match="timed out"):
            await webhook.send(_sms(), now=NOW, hand_over=marks)
        gateway.answer_delay = 0.0
    finally:
        await webhook.close()

    refused = WebhookSms(
        Settings(deployment_environment="development", sms_provider="webhook", sms_webhook_url=gateway.url)
    )
    try:
        before = len(gateway.requests)
        marks.refuse = True
        with pytest.raises(RetryableSendError, match="not handed over"):
            await refused.send(_sms(), now=NOW, hand_over=marks)
        marks.refuse = False
        assert len(gateway.requests) == before  # no mark, no request
    finally:
        await refused.close()

    down = WebhookSms(
        Settings(deployment_environment="development", sms_provider="webhook", sms_webhook_url="http://127.0.0.1:9/sms")
    )
    try:
        with pytest.raises(ProviderDown):
            await down.send(_sms(), now=NOW, hand_over=marks)
    finally:
        await down.close()


async def test_the_development_provider_writes_the_code_to_its_file_never_to_the_log(
    hand_overs: Any, tmp_path: Path
) -> None:
    written = tmp_path / "sms.jsonl"
    with capture_logs() as logs:
        assert "SMS_PROVIDER=log" in await LogSms(written).send(
            _sms("Mã xác thực Một cửa: 777888"), now=NOW, hand_over=hand_overs
        )
    (line,) = written.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["text"] == "Mã xác thực Một cửa: 777888"
    assert json.loads(line)["to"] == "+84912000111"
    assert "777888" not in repr(logs)
    assert logs[0]["file"] == str(written)
