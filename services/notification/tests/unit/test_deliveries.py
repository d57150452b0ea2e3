from datetime import UTC, datetime, timedelta

from motcua.notification.deliveries import Delivery
from motcua.notification.model import AmbiguousSendError, RetryableSendError, RetryPolicy, Status

NOW = datetime(2026, 11, 25, 3, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base_seconds=5, max_seconds=60)


def code_by_sms(**overrides: object) -> Delivery:
    recorded = Delivery.record(
        cause_event_id="e1",
        cause_event_type="motcua.identity.PhoneVerificationRequested.v1",
        channel="sms",
        recipient="+84912345678",
        account_id="acc-1",
        content={"text": "Mã xác thực: 482913"},
        secret=True,
        expires_at=NOW + timedelta(minutes=10),
        request_id=None,
        application_id=None,
        tracking_code=None,
        now=NOW,
    )
    return recorded.model_copy(update=overrides)


def test_a_recorded_delivery_is_stored_as_before_and_reads_back_equal() -> None:
    delivery = code_by_sms()
    doc = delivery.to_doc()
    assert doc["_id"] == delivery.id
    assert doc["status"] == "pending"
    assert doc["attempts"] == 0
    assert doc["attempt_log"] == []
    assert doc["next_attempt_at"] == NOW
    assert doc["request_id"] is None  # always there, null or not
    assert "handed_over_at" not in doc  # a mark it never had is absent, not null
    assert "application_id" not in doc
    assert Delivery.from_doc(doc) == delivery


def test_a_refused_secret_keeps_no_message_and_an_in_app_message_is_sent_by_being_stored() -> None:
    refused = code_by_sms().refused(Status.RATE_LIMITED, "too many", NOW)
    assert (refused.status, refused.reason, refused.failed_at) == (Status.RATE_LIMITED, "too many", NOW)
    assert "message" not in refused.to_doc()
    stored = code_by_sms(channel="in_app", secret=False).stored_in_app(NOW)
    assert (stored.status, stored.attempts, stored.provider_answer) == (Status.SENT, 1, "stored in-app")


def test_a_retryable_failure_is_due_again_later_and_a_sent_secret_is_scrubbed() -> None:
    claimed = code_by_sms(status=Status.SENDING, attempts=1, claim="c1")
    again = claimed.settled(RetryableSendError("HTTP 503"), answer="", policy=POLICY, now=NOW)
    assert again.status == Status.PENDING
    assert again.fields()["next_attempt_at"] == NOW + timedelta(seconds=5)
    assert again.fields()["claim"] is None
    assert not again.final
    assert not again.scrub
    sent = claimed.settled(None, answer="HTTP 200", policy=POLICY, now=NOW)
    assert sent.final
    assert sent.scrub
    assert sent.fields()["provider_answer"] == "HTTP 200"
    assert sent.logged().answer == "HTTP 200"


def test_an_ambiguous_send_is_unknown_and_never_resent() -> None:
    claimed = code_by_sms(status=Status.SENDING, attempts=1, claim="c1")
    move = claimed.settled(AmbiguousSendError("connection lost"), answer="", policy=POLICY, now=NOW)
    assert move.status == Status.UNKNOWN
    assert move.fields()["failed_at"] == NOW
    assert move.logged().answer == "connection lost"


def test_an_abandoned_send_is_unknown_if_it_was_handed_over_and_due_again_if_not() -> None:
    handed = code_by_sms(status=Status.SENDING, handed_over_at=NOW).abandoned(NOW)
    assert handed.status == Status.UNKNOWN
    assert handed.scrub
    never = code_by_sms(status=Status.SENDING).abandoned(NOW)
    assert never.status == Status.PENDING
    assert never.fields()["next_attempt_at"] == NOW
    assert "last_error" not in never.fields()
