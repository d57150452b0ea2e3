"""Notification opens the links and codes identity sealed for it, with the newest key or an older one, and
sends them; what it cannot open it never sends, and the dead-letter topic keeps it sealed (issue 16, item 5)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.common import topics
from motcua.common.contracts.identity import EmailVerificationRequested, PhoneVerificationRequested
from motcua.common.sealing import EventSealer, purpose
from motcua.devtools.testing import eventually, raw_records


def key_pair(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW, FOREIGN = key_pair("2026-11"), key_pair("2026-12"), key_pair("stolen")


def sealed_code(sealer: EventSealer, account: Any, code: str) -> PhoneVerificationRequested:
    kind = PhoneVerificationRequested.ce_type
    return PhoneVerificationRequested(
        account_id=account.account_id,
        full_name=account.full_name,
        phone=account.phone,
        code=sealer.seal(code, purpose=purpose(kind, "code"), owner=account.account_id),
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )


async def test_sealed_codes_and_links_are_sent_whichever_listed_key_sealed_them(kit: Any) -> None:
    citizen = kit.account(phone="+84 903 222 333")
    link = "http://127.0.0.1:8000/verify-email?token=sealed-token-7"
    email = EmailVerificationRequested(
        account_id=citizen.account_id,
        full_name=citizen.full_name,
        email=citizen.email,
        verification_url=EventSealer.configured(NEW).seal(
            link, purpose=purpose(EmailVerificationRequested.ce_type, "verification_url"), owner=citizen.account_id
        ),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    async with kit.service(event_secret_keys=f"{NEW},{OLD}"):
        # sealed before the rotation, read after it
        await kit.send(sealed_code(EventSealer.configured(OLD), citizen, "630417"), email)

        async def sent() -> bool:
            return len(kit.sms.to("+84903222333")) == 1 and len(kit.smtp.to(citizen.email)) == 1

        await eventually(sent)
    assert "630417" in kit.sms.to("+84903222333")[0].text
    assert link in kit.smtp.to(citizen.email)[0].text


async def test_a_code_sealed_under_a_key_notification_does_not_hold_is_never_sent_and_stays_sealed(
    kit: Any,
) -> None:
    citizen = kit.account(phone="+84 903 444 555")
    moved = kit.account(phone="+84 903 666 777")
    code = sealed_code(EventSealer.configured(NEW), citizen, "271828")
    # a sealed code copied into another account's event does not open either
    copied = PhoneVerificationRequested(**{**code.model_dump(), "account_id": moved.account_id, "phone": moved.phone})
    async with kit.service(event_secret_keys=NEW):
        await kit.send(sealed_code(EventSealer.configured(FOREIGN), citizen, "314159"), copied)
        dead_letter_topic = topics.dead_letter(f"{kit.isolation.topic_prefix}{topics.IDENTITY_ACCOUNT}")
        parked = await raw_records(kit.stack.kafka_bootstrap, dead_letter_topic, at_least=2)
    assert len(parked) == 2
    for value, headers in parked:
        assert b"314159" not in value
        assert b"271828" not in value
        assert "314159" not in headers
        assert "271828" not in headers
        assert b'"ciphertext"' in value
    assert kit.sms.to("+84903444555") == []
    assert kit.sms.to("+84903666777") == []
