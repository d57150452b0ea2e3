"""SMS providers behind one interface: `log` (development only: each SMS is appended to SMS_LOG_FILE, one
JSON object a line, for the developer to read its code) and `webhook` (POST JSON {"to", "text"} to
SMS_WEBHOOK_URL; any 2xx is accepted). The text of an SMS never goes to the service's log: a verification
SMS is its code.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import datetime
from pathlib import Path

import httpx
import structlog
from motcua.notification.deliveries import Delivery
from motcua.notification.model import PermanentSendError, ProviderDown, RetryableSendError
from motcua.notification.senders import HandOver
from motcua.notification.settings import Settings

log = structlog.get_logger(__name__)

_RETRYABLE_4XX = frozenset({408, 425, 429})  # the provider asks us to come back, not to give up


def development_file(settings: Settings) -> Path:
    """Where the log provider writes: SMS_LOG_FILE, or motcua-sms.jsonl in the temporary directory."""
    return Path(settings.sms_log_file or Path(tempfile.gettempdir()) / "motcua-sms.jsonl")


class LogSms:
    """Development only (refused elsewhere by the settings): appends each SMS, codes included, to a file
    for the developer to read; the service's log says only that it did."""

    channel = "sms"
    concurrency = 1

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, delivery: Delivery, *, now: datetime, hand_over: HandOver) -> str:
        await hand_over()
        line = json.dumps(
            {
                "at": now.isoformat(),
                "delivery_id": delivery.id,
                "to": delivery.recipient,
                "text": delivery.content()["text"],
            },
            ensure_ascii=False,
        )
        await asyncio.to_thread(self._append, line)
        log.info("sms_written_for_development", delivery_id=delivery.id, file=str(self.path))
        return f"written to {self.path} (SMS_PROVIDER=log)"

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def close(self) -> None:
        return None


class WebhookSms:
    """An HTTP SMS gateway. The delivery id goes as `Idempotency-Key`, so a gateway that honours it
    turns our retry after a timeout into a no-op."""

    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        self.concurrency = settings.sms_concurrency
        headers = {"User-Agent": "motcua-notification"}
        token = settings.sms_webhook_token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._url = settings.sms_webhook_url
        self._http = httpx.AsyncClient(timeout=settings.sms_webhook_timeout_seconds, headers=headers)

    async def send(self, delivery: Delivery, *, now: datetime, hand_over: HandOver) -> str:
        body = {"to": delivery.recipient, "text": delivery.content()["text"]}
        await hand_over()  # from here the gateway may have it (HTTP has no end-of-data to hold back)
        try:
            response = await self._http.post(self._url, json=body, headers={"Idempotency-Key": delivery.id})
        except httpx.ConnectError as exc:
            raise ProviderDown("SMS gateway unreachable") from exc
        except httpx.TimeoutException as exc:
            raise RetryableSendError("SMS gateway timed out") from exc
        except httpx.HTTPError as exc:
            raise RetryableSendError(f"SMS gateway transport error: {type(exc).__name__}") from exc
        answer = f"HTTP {response.status_code}"  # never the body: a gateway may echo the text, code included
        if response.is_success:
            return answer
        if response.status_code >= 500 or response.status_code in _RETRYABLE_4XX:
            raise RetryableSendError(answer)
        raise PermanentSendError(answer)

    async def close(self) -> None:
        await self._http.aclose()
