"""CloudEvents 1.0 in Kafka binary content mode, and the registry of the platform's event types.

The record value is the JSON `data`; the attributes travel as `ce_*` headers; the record key is the
aggregate id (`ce_subject`), so one aggregate's events stay in order on one partition.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

SPEC_VERSION = "1.0"
REQUEST_ID_HEADER = "x-request-id"
CONTENT_TYPE = "application/json"


class Event(BaseModel):
    """An event's `data`. Subclasses set the CloudEvents type, the topic and the aggregate id field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ce_type: ClassVar[str]
    topic: ClassVar[str]
    subject_field: ClassVar[str]

    @property
    def subject(self) -> str:
        """The aggregate id: `ce_subject` and the record key."""
        return str(getattr(self, self.subject_field))

    def copied_to(self) -> tuple[str, ...]:
        """Topics that receive this event too, the same record (e.g. the dossier's agency's own topic)."""
        return ()


E = TypeVar("E", bound=type[Event])

_registry: dict[str, type[Event]] = {}


def register(cls: E) -> E:
    """Class decorator: make an event type known to encoders, decoders and the AsyncAPI document."""
    existing = _registry.get(cls.ce_type)
    if existing is not None and existing is not cls:
        raise ValueError(f"event type {cls.ce_type} registered twice")
    _registry[cls.ce_type] = cls
    return cls


def event_types() -> dict[str, type[Event]]:
    """Every registered event type by its `ce_type`."""
    from motcua.common import contracts  # noqa: F401  (importing registers the platform's events)

    return dict(sorted(_registry.items()))


def json_schema(cls: type[Event]) -> dict[str, Any]:
    """The published JSON Schema of one event type's `data`."""
    schema = cls.model_json_schema(mode="serialization")
    # consumers must accept fields added later (new optional fields are not a new version)
    schema.pop("additionalProperties", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:motcua:event:{cls.ce_type}"
    return schema


@dataclass(frozen=True)
class Envelope:
    """One event with its CloudEvents attributes."""

    data: Event
    source: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None

    @property
    def type(self) -> str:
        return self.data.ce_type

    @property
    def subject(self) -> str:
        return self.data.subject


@dataclass(frozen=True)
class Record:
    """What goes on (or comes off) the wire."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", errors="replace")
        return None


def encode(envelope: Envelope) -> Record:
    """The Kafka record of an event, binary content mode."""
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", envelope.id),
        ("ce_source", envelope.source),
        ("ce_type", envelope.type),
        ("ce_time", envelope.time.isoformat().replace("+00:00", "Z")),
        ("ce_subject", envelope.subject),
        ("content-type", CONTENT_TYPE),
    ]
    if envelope.request_id:
        headers.append((REQUEST_ID_HEADER, envelope.request_id))
    return Record(
        key=envelope.subject.encode(),
        value=envelope.data.model_dump_json().encode(),
        headers=[(k, v.encode()) for k, v in headers],
    )


class InvalidEnvelope(Exception):
    """A record that is not one of the platform's events; it belongs on the dead-letter topic."""


_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type")


def decode(value: bytes | None, headers: Iterator[tuple[str, bytes]] | list[tuple[str, bytes]]) -> Envelope:
    """Read a record back into an event; raises InvalidEnvelope saying exactly what is wrong."""
    attrs: dict[str, str] = {}
    for k, v in headers:
        try:
            attrs[k] = v.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEnvelope(f"header {k} is not UTF-8") from exc
    missing = [h for h in _REQUIRED if not attrs.get(h)]
    if missing:
        raise InvalidEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise InvalidEnvelope(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    cls = event_types().get(attrs["ce_type"])
    if cls is None:
        raise InvalidEnvelope(f"unknown event type {attrs['ce_type']!r}")
    if value is None:
        raise InvalidEnvelope("record has no value")
    try:
        payload = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidEnvelope(f"value is not JSON: {exc}") from exc
    try:
        data = cls.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"/{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise InvalidEnvelope(f"data does not match {cls.ce_type}: {problems}") from exc
    time = datetime.now(UTC)
    if attrs.get("ce_time"):
        try:
            time = datetime.fromisoformat(attrs["ce_time"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidEnvelope(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from exc
    return Envelope(
        data=data,
        source=attrs["ce_source"],
        id=attrs["ce_id"],
        time=time,
        request_id=attrs.get(REQUEST_ID_HEADER),
    )
