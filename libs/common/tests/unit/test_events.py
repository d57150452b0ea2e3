from datetime import UTC, date, datetime

import pytest
from motcua.common.contracts.identity import AccountLocked
from motcua.common.contracts.submission import ApplicationStatusChanged
from motcua.common.events import Envelope, InvalidEnvelope, decode, encode, event_types, json_schema


def _status_changed() -> ApplicationStatusChanged:
    return ApplicationStatusChanged.model_validate(
        {
            "application_id": "app-1",
            "tracking_code": "HS-ABCD-2345",
            "procedure_code": "HT-KS-01",
            "procedure_version": 1,
            "procedure_name": "Đăng ký khai sinh",
            "agency_code": "UBND-XA",
            "applicant_account_id": "acc-1",
            "due_date": date(2026, 12, 1),
            "from": "submitted",
            "to": "processing",
            "by_role": "officer",
            "changed_at": datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        }
    )


def test_an_event_travels_in_binary_content_mode_with_every_cloudevents_header() -> None:
    record = encode(Envelope(_status_changed(), source="/motcua/submission", request_id="req-1"))
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"motcua.submission.ApplicationStatusChanged.v1"
    assert headers["ce_source"] == b"/motcua/submission"
    assert headers["ce_subject"] == b"app-1"
    assert headers["content-type"] == b"application/json"
    assert headers["x-request-id"] == b"req-1"
    assert record.key == b"app-1"
    assert b'"from":"submitted"' in record.value
    assert "Đăng ký khai sinh".encode() in record.value


def test_decoding_gives_back_the_same_event_and_id() -> None:
    envelope = Envelope(_status_changed(), source="/motcua/submission")
    record = encode(envelope)
    again = decode(record.value, record.headers)
    assert again.id == envelope.id
    assert again.data == envelope.data


@pytest.mark.parametrize(
    ("value", "drop", "override", "message"),
    [
        (b"{}", "ce_id", {}, "missing CloudEvents headers: ce_id"),
        (b"{}", None, {"ce_type": b"motcua.nobody.Nothing.v1"}, "unknown event type"),
        (b"{not json", None, {}, "not JSON"),
        (b'{"account_id": "a"}', None, {}, "does not match"),
        (b"{}", None, {"ce_specversion": b"0.3"}, "unsupported ce_specversion"),
    ],
)
def test_bad_records_are_refused_with_a_clear_reason(
    value: bytes, drop: str | None, override: dict[str, bytes], message: str
) -> None:
    good = encode(
        Envelope(
            AccountLocked(account_id="a", locked_until=datetime.now(UTC), failed_attempts=5),
            source="/motcua/identity",
        )
    )
    headers = [(k, override.get(k, v)) for k, v in good.headers if k != drop]
    with pytest.raises(InvalidEnvelope, match=message):
        decode(value, headers)


def test_every_registered_type_publishes_a_json_schema() -> None:
    types = event_types()
    # with issue 18's directory, assignment and deadline events, 19's ApplicationRated, 20's result events,
    # 21's three payment events, 23's AccountProfileChanged
    assert len(types) == 27
    for ce_type, cls in types.items():
        schema = json_schema(cls)
        assert schema["$id"].endswith(ce_type)
        assert schema["type"] == "object"
