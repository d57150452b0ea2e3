import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from motcua.common.contracts.notification import NotificationFailed, NotificationSent
from motcua.devtools.testing import eventually
from pymongo import AsyncMongoClient


async def expire_interrupted_email(kit: Any) -> None:
    """Let the lease of the interrupted email run out now rather than in 90 seconds."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(kit.stack.mongodb_uri, tz_aware=True)
    try:
        moved = await mongo[kit.isolation.db_name]["deliveries"].update_many(
            {"status": "sending", "channel": "email"}, {"$set": {"lease_until": datetime(2000, 1, 1, tzinfo=UTC)}}
        )
        assert moved.modified_count == 1
    finally:
        await mongo.close()


async def test_a_service_killed_mid_send_and_restarted_never_sends_the_same_message_twice(
    kit: Any, tmp_path: Path
) -> None:
    env = kit.process_env()
    citizen = kit.account()
    first = kit.received(citizen, tracking_code="HS-KILL-0001")
    kit.smtp.hold_data_replies()  # the server takes the message but keeps its reply
    with kit.service_process(env, tmp_path / "service.log") as process:
        [_, envelope] = await kit.send(citizen, first)

        async def message_in() -> bool:
            return len(kit.smtp.mails) == 1

        await eventually(message_in, timeout=90)  # a process starting and joining its group on a busy machine
        # SMS and in-app are settled (their events are out); only the email is in flight, awaiting its reply
        settled = await kit.delivery_events(envelope.id, count=2)
        assert {e.data.channel for e in settled} == {"sms", "in_app"}
        process.kill()  # SIGKILL: no chance to settle the delivery it was sending
        process.wait(5)
    kit.smtp.release()

    await expire_interrupted_email(kit)

    second = kit.received(citizen, tracking_code="HS-KILL-0002")
    async with kit.service(smtp_timeout_seconds=10, delivery_lease_seconds=90):  # restarted (in-process)
        [_, again] = await kit.send(envelope, second)  # the interrupted event redelivered, and a new one

        async def second_in() -> bool:
            return len(kit.smtp.mails) == 2

        await eventually(second_in, timeout=90)
        events = await kit.delivery_events(envelope.id, again.id, count=6)
        await asyncio.sleep(0.5)

    subjects = [m.subject for m in kit.smtp.to(citizen.email)]
    assert len(subjects) == 2
    assert sum("HS-KILL-0001" in s for s in subjects) == 1
    assert sum("HS-KILL-0002" in s for s in subjects) == 1
    texts = [r.text for r in kit.sms.to(f"+84{citizen.phone[1:]}")]
    assert sum("HS-KILL-0001" in t for t in texts) == 1
    assert sum("HS-KILL-0002" in t for t in texts) == 1

    about_first = {e.data.channel: e.data for e in events if e.data.cause_event_id == envelope.id}
    assert isinstance(about_first["email"], NotificationFailed)
    assert about_first["email"].status == "unknown"
    assert "handed over" in about_first["email"].reason
    assert isinstance(about_first["in_app"], NotificationSent)
    emails = [e for e in events if e.data.channel == "email"]
    assert len(emails) == 2  # one final word per (event, channel), nothing for the redelivery


async def test_a_service_killed_before_the_message_was_handed_over_sends_it_after_the_restart(
    kit: Any, tmp_path: Path
) -> None:
    citizen = kit.account()
    first = kit.received(citizen, tracking_code="HS-KILL-0003")
    smtp = kit.smtp
    smtp.hold_recipient_replies()  # the server keeps its answer to RCPT: the message is not yet given
    with kit.service_process(kit.process_env(), tmp_path / "service.log") as process:
        [_, envelope] = await kit.send(citizen, first)

        async def envelope_begun() -> bool:
            return bool(smtp.held_recipients == 1)

        await eventually(envelope_begun, timeout=90)
        process.kill()  # SIGKILL in the middle of the SMTP transaction, before its end-of-data line
        process.wait(5)
    smtp.release()
    await expire_interrupted_email(kit)

    async with kit.service(smtp_timeout_seconds=10, delivery_lease_seconds=90):  # restarted (in-process)
        await kit.send(envelope)  # redelivered too: still once

        async def arrived() -> bool:
            return any("HS-KILL-0003" in m.subject for m in smtp.to(citizen.email))

        await eventually(arrived, timeout=90)
        events = await kit.delivery_events(envelope.id, count=3)
        await asyncio.sleep(0.5)

    assert sum("HS-KILL-0003" in m.subject for m in smtp.to(citizen.email)) == 1
    email = [e.data for e in events if e.data.channel == "email"]
    assert len(email) == 1
    assert isinstance(email[0], NotificationSent)


async def test_a_service_killed_and_started_again_under_its_member_id_resumes_without_waiting_for_the_group(
    kit: Any, tmp_path: Path
) -> None:
    """Static group membership: the restarted process takes its partitions back at once. A dynamic member would
    wait for the broker to give up on the dead one — the session timeout, a minute here — before any record flows,
    so resuming well inside it shows the restart skipped the rebalance however slow the machine is.
    (Measured on an idle development machine: 3.8 s from the SIGKILL, process start included; 10.2 s without
    static membership at the default 10 s session timeout.)"""
    session_timeout_s = 60
    env = {
        **kit.process_env(),
        "KAFKA_GROUP_INSTANCE_ID": f"notification-{uuid.uuid4().hex[:6]}",
        "CONSUMER_SESSION_TIMEOUT_MS": str(session_timeout_s * 1000),
    }
    citizen = kit.account()
    smtp = kit.smtp

    def arrived(code: str) -> Any:
        async def check() -> bool:
            return any(code in m.subject for m in smtp.to(citizen.email))

        return check

    with kit.service_process(env, tmp_path / "service.log") as process:
        await kit.send(citizen, kit.received(citizen, tracking_code="HS-RESUME-0001"))
        await eventually(arrived("HS-RESUME-0001"), timeout=90)
        process.kill()
        process.wait(5)
    killed = time.monotonic()
    await kit.send(kit.received(citizen, tracking_code="HS-RESUME-0002"))
    with kit.service_process(env, tmp_path / "service.log"):
        await eventually(arrived("HS-RESUME-0002"), timeout=2 * session_timeout_s, interval=0.05)
        resumed = time.monotonic() - killed
    print(f"consumption resumed {resumed:.1f} s after the SIGKILL (process start included)")
    assert resumed < session_timeout_s * 0.75
    assert sum("HS-RESUME-0002" in m.subject for m in smtp.to(citizen.email)) == 1
