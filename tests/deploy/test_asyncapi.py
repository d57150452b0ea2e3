"""The checked-in AsyncAPI document and event schemas are what the event registry generates now.

When one fails, an event type changed: regenerate with `python -m motcua.common.asyncapi` and review
the diff — agencies build against these files.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from motcua.common import topics
from motcua.common.asyncapi import build, event_schemas, render_document, write
from motcua.common.contracts.submission import ApplicationReceived
from motcua.common.events import Envelope, encode, event_types

REGENERATE = "regenerate with `python -m motcua.common.asyncapi` and commit docs/"


def test_the_asyncapi_document_is_up_to_date(root: Path) -> None:
    checked_in = yaml.safe_load((root / "docs/asyncapi.yaml").read_text(encoding="utf-8"))
    assert checked_in == build(), REGENERATE


def test_the_event_schemas_are_up_to_date(root: Path) -> None:
    directory = root / "docs/events"
    checked_in = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")}
    assert checked_in == event_schemas(), REGENERATE


def test_the_generator_writes_exactly_the_checked_in_files(root: Path, tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "motcua.gone.Removed.v1.json").write_text("{}")
    write(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated == sorted([Path("asyncapi.yaml"), *(Path("events") / name for name in event_schemas())])
    assert (tmp_path / "asyncapi.yaml").read_text(encoding="utf-8") == render_document(build())


def test_every_topic_is_a_channel_and_every_event_type_a_message() -> None:
    document = build()
    kafka = [c for c in document["channels"].values() if "kafka" in c["bindings"]]
    assert [c["address"] for c in kafka] == [*topics.ALL, topics.agency("{agencyCode}")]
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert names == set(event_types())
    for ce_type, cls in event_types().items():
        channel = next(c for c in document["channels"].values() if c["address"] == cls.topic)
        assert cls.__name__ in channel["messages"], ce_type


def test_the_webhook_channel_describes_what_the_webhooks_service_posts() -> None:
    from motcua.webhooks.model import structured

    document = build()
    channel = document["channels"]["webhookDelivery"]
    dossier_types = {cls.ce_type for cls in event_types().values() if cls.topic == topics.SUBMISSION_APPLICATION}
    assert {m["name"] for m in channel["messages"].values()} == dossier_types
    headers = document["components"]["schemas"]["StandardWebhooksHeaders"]
    assert headers["required"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    received = ApplicationReceived(
        application_id="app-1",
        tracking_code="HT-2026-ABCD-1234",
        procedure_code="HT-KS-01",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        agency_code="UBND-XA",
        applicant_account_id="acc-1",
        due_date=date(2026, 3, 2),
        submitted_at=datetime(2026, 2, 24, 9, 30, tzinfo=UTC),
    )
    body = structured(Envelope(received, source="/motcua/submission"))
    payload = channel["messages"]["ApplicationReceivedWebhook"]["payload"]
    assert set(payload["required"]) == set(body)
    assert document["operations"]["webhooksDelivers"]["channel"] == {"$ref": "#/channels/webhookDelivery"}


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external reference {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_in_the_document_resolves() -> None:
    document = build()
    for ref in _refs(document):
        _resolve(document, ref)


@pytest.mark.parametrize("ce_type", sorted(event_types()))
def test_each_message_states_its_headers_key_and_payload(ce_type: str) -> None:
    document = build()
    cls = event_types()[ce_type]
    message = document["components"]["messages"][cls.__name__]
    headers = message["headers"]["allOf"]
    common = _resolve(document, headers[0]["$ref"])
    assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"} <= set(
        common["required"]
    )
    assert headers[1]["properties"]["ce_type"] == {"const": ce_type}
    assert cls.subject_field in message["bindings"]["kafka"]["key"]["description"]
    payload = _resolve(document, message["payload"]["$ref"])
    assert payload["required"] == event_schemas()[f"{ce_type}.json"]["required"]


@pytest.mark.parametrize("ce_type", sorted(event_types()))
def test_each_published_schema_is_valid_json_schema(ce_type: str) -> None:
    schema = event_schemas()[f"{ce_type}.json"]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:motcua:event:{ce_type}"


def test_an_encoded_event_matches_its_published_schema_and_headers(root: Path) -> None:
    received = ApplicationReceived(
        application_id="app-1",
        tracking_code="HT-2026-ABCD-1234",
        procedure_code="HT-KS-01",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        agency_code="UBND-XA",
        applicant_account_id="acc-1",
        due_date=date(2026, 3, 2),
        submitted_at=datetime(2026, 2, 24, 9, 30, tzinfo=UTC),
    )
    record = encode(Envelope(received, source="/motcua/submission", request_id="req-1"))
    schema = json.loads((root / "docs/events" / f"{ApplicationReceived.ce_type}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(record.value)
    )
    document = build()
    headers = {k: v.decode() for k, v in record.headers}
    jsonschema.Draft202012Validator(
        {**document["components"]["messages"]["ApplicationReceived"]["headers"], "components": document["components"]}
    ).validate(headers)
    assert record.key.decode() == headers["ce_subject"] == "app-1"
