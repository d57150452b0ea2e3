"""SMS providers behind one interface: `log` (development: the text goes to the log) and `webhook`
(POST JSON {"to", "text"} to SMS_WEBHOOK_URL; any 2xx is accepted).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import structlog
from motcua.notification.deliveries import Delivery
from motcua.notification.model import PermanentSendError, ProviderDown, RetryableSendError
from motcua.notification.senders import HandOver
from motcua.notification.settings import Settings

log = structlog.get_logger(__name__)

_RETRYABLE_4XX = frozenset({408, 425, 429})  # the provider asks us to come back, not to give up


class LogSms:
    """Development only: writes each SMS, verification codes included, to the log for the developer to read."""

    channel = "sms"
    concurrency = 1

    async def send(self, delivery: Delivery, *, now: datetime, hand_over: HandOver) -> str:
        await hand_over()
        log.info(
            "sms_logged_for_development",
            delivery_id=delivery.id,
            to=delivery.recipient,
            sms_text=delivery.content()["text"],
        )
        return "written to the log (SMS_PROVIDER=log)"

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
