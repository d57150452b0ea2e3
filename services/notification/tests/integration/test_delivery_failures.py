import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from motcua.common.contracts.identity import (
    EmailVerificationRequested,
    PasswordResetRequested,
    PhoneVerificationRequested,
)
from motcua.common.contracts.notification import NotificationFailed, NotificationSent
from motcua.devtools.testing import eventually
from structlog.testing import capture_logs


def _by_channel(events: list[Any], cause: str) -> dict[str, Any]:
    return {e.data.channel: e.data for e in events if e.data.cause_event_id == cause}


async def test_messages_wait_out_provider_outages_and_refusals_are_final_and_announced(kit: Any, service: Any) -> None:
    citizen = kit.account(phone="0987 654 321")
    refused = kit.account()
    kit.smtp.refuse(refused.email, "550 5.1.1 <mailbox unavailable>")
    kit.sms.answer_next(500, 200, 400)
    await asyncio.to_thread(kit.smtp.stop)
    [_, first] = await kit.send(citizen, kit.received(citizen))

    async def one_sms() -> bool:
        return len(kit.sms.to("+84987654321")) == 1

    await eventually(one_sms)
    tried = kit.sms.tried("+84987654321")
    assert [r.status for r in tried] == [500, 200]
    assert (
        tried[0].idempotency_key == tried[1].idempotency_key
    )  # a gateway that honours Idempotency-Key can drop the retry

    await asyncio.sleep(1.0)  # SMTP still down: the email keeps waiting, it is not given up
    assert kit.smtp.to(citizen.email) == []
    await asyncio.to_thread(kit.smtp.start)

    async def one_email() -> bool:
        return len(kit.smtp.to(citizen.email)) == 1

    await eventually(one_email)
    [_, second] = await kit.send(refused, kit.received(refused))
    events = await kit.delivery_events(first.id, second.id, count=6)

    assert len(kit.smtp.to(citizen.email)) == 1
    outage = _by_channel(events, first.id)
    assert isinstance(outage["email"], NotificationSent)
    assert outage["email"].attempts > 1
    assert isinstance(outage["sms"], NotificationSent)
    assert outage["sms"].attempts == 2

    refusals = _by_channel(events, second.id)
    assert isinstance(refusals["email"], NotificationFailed)
    assert refusals["email"].reason.startswith("550")
    assert refusals["email"].attempts == 1
    assert isinstance(refusals["sms"], NotificationFailed)
    assert refusals["sms"].reason == "HTTP 400"
    assert refusals["sms"].status == "failed"
    assert isinstance(refusals["in_app"], NotificationSent)
    assert [r.status for r in kit.sms.tried(f"+84{refused.phone[1:]}")] == [400]
    assert kit.smtp.to(refused.email) == []


async def test_codes_and_links_are_sent_once_unless_expired_or_too_many_and_never_logged(
    kit: Any, service: Any
) -> None:
    citizen = kit.account(phone="+84 903 111 222")
    now = datetime.now(UTC)
    soon = now + timedelta(minutes=10)

    def code(value: str) -> PhoneVerificationRequested:
        return PhoneVerificationRequested(
            account_id=citizen.account_id,
            full_name=citizen.full_name,
            phone=citizen.phone,
            code=value,
            expires_at=soon,
        )

    stale = EmailVerificationRequested(
        account_id=citizen.account_id,
        full_name=citizen.full_name,
        email=citizen.email,
        verification_url="http://127.0.0.1:8000/verify-email?token=stale-token-1",
        expires_at=now - timedelta(seconds=1),
    )
    reset = PasswordResetRequested(
        account_id=citizen.account_id,
        full_name=citizen.full_name,
        email=citizen.email,
        reset_url="http://127.0.0.1:8000/reset-password?token=reset-token-42",
        expires_at=soon,
    )
    late = kit.account()  # its application arrives before its registration
    early = kit.received(late)
    with capture_logs() as logs:
        sent = await kit.send(code("482913"), stale, reset, code("551177"), code("900001"), early)

        async def delivered() -> bool:
            return len(kit.sms.to("+84903111222")) == 2 and len(kit.smtp.to(citizen.email)) == 1

        await eventually(delivered)
        await kit.send(late)

        async def released() -> bool:
            return len(kit.smtp.to(late.email)) == 1

        await eventually(released)
        events = await kit.delivery_events(*(e.id for e in sent), count=8)

    until = f"{soon.astimezone(timezone(timedelta(hours=7))):%H:%M}"
    # two codes, each once; their order is not promised (the SMS lane sends a batch concurrently)
    assert sorted(r.text for r in kit.sms.to("+84903111222")) == sorted(
        f"Mã xác thực Một cửa: {value}. Hiệu lực đến {until}. Không chia sẻ mã này với bất kỳ ai."
        for value in ("482913", "551177")
    )
    [mail] = kit.smtp.to(citizen.email)
    assert mail.subject == "[Một cửa] Đặt lại mật khẩu"
    assert "http://127.0.0.1:8000/reset-password?token=reset-token-42" in mail.text

    outcome = {e.data.cause_event_id: e.data for e in events}
    assert isinstance(outcome[sent[1].id], NotificationFailed)
    assert outcome[sent[1].id].status == "expired"
    assert isinstance(outcome[sent[4].id], NotificationFailed)
    assert outcome[sent[4].id].status == "rate_limited"
    assert isinstance(outcome[sent[0].id], NotificationSent)
    assert isinstance(outcome[sent[5].id], NotificationSent)  # the application that waited for its contact

    logged = repr(logs)
    for secret in ("482913", "551177", "900001", "stale-token-1", "reset-token-42"):
        assert secret not in logged
