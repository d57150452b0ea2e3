"""The AsyncAPI 3.0 document of the platform's topics and the JSON Schema of each event type.

Both are generated from the event registry and checked in under `docs/`, where agencies and operators
read them; a test fails when an event changes and the checked-in files do not. Regenerate with

    python -m motcua.common.asyncapi [--docs DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from motcua.common import topics
from motcua.common.events import CONTENT_TYPE, REQUEST_ID_HEADER, SPEC_VERSION, Event, event_types, json_schema

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
EVENT_SCHEMA_DIR = "events"
DOCUMENT_NAME = "asyncapi.yaml"

# Who reads each topic inside the platform (consumer group → topics); agencies add their own groups.
CONSUMER_GROUPS: dict[str, tuple[str, ...]] = {
    "submission": (topics.CATALOGUE_PROCEDURE, topics.IDENTITY_DIRECTORY, topics.IDENTITY_PROFILE),
    "notification": (topics.IDENTITY_ACCOUNT, topics.IDENTITY_DIRECTORY, topics.SUBMISSION_APPLICATION),
    # pushes dossier events to agencies' HTTPS endpoints (docs/webhooks.md)
    "webhooks": (topics.SUBMISSION_APPLICATION,),
    # submission's own read of its topic: the service index's read model (docs/accountability.md)
    "submission-index": (topics.SUBMISSION_APPLICATION,),
}


def group_service(group: str) -> str:
    """The service a consumer group belongs to: a service's further groups are named `<service>-<purpose>`."""
    return group.split("-", 1)[0]


# Topics every process of these services reads whole, without a consumer group (motcua.common.revocation).
GROUPLESS_READERS: dict[str, tuple[str, ...]] = {
    topics.IDENTITY_SESSION: ("identity", "catalogue", "submission", "notification", "webhooks"),
}

_TOPIC_NOTES: dict[str, str] = {
    topics.IDENTITY_ACCOUNT: (
        "Accounts: registration, verification requests, activation, password resets, lock-outs. "
        "Carries verification links, codes and reset links, sealed (AES-256-GCM, EVENT_SECRET_KEYS) for the "
        "notification service, the only one that may read it; kept one day, the longest such a secret lives."
    ),
    topics.IDENTITY_SESSION: (
        "Ended sessions (sign-out, password reset or change): every service that verifies access tokens "
        "reads it, each process without a consumer group, and refuses those sessions' tokens until "
        "`valid_until`. No personal data beyond the account id; kept one day."
    ),
    topics.IDENTITY_DIRECTORY: (
        "The officers' directory: each officer's agency and desk roles (intake, specialist, approver) and whether "
        "they may act, keyed by account id. Compacted: the latest record of an officer is their entry. No contact "
        "details and no secret: submission assigns dossiers from it, notification finds an agency's approvers."
    ),
    topics.IDENTITY_PROFILE: (
        "The applicants' profiles: each citizen's, business's or organisation's account type, name, citizen ID or "
        "tax code and organisation name, email and phone as identity verified them, at activation and at each change, "
        "keyed by account id. Compacted: the latest record of an account is its profile. No secret; personal data, "
        "so only submission may read it (it copies the profile into each dossier at submission, for the agency)."
    ),
    topics.CATALOGUE_PROCEDURE: (
        "Published and retired versions of administrative procedures. Compacted: the latest record of a "
        "procedure code is its current state."
    ),
    topics.SUBMISSION_APPLICATION: (
        "Dossiers (applications): received on submission, then each status change, of every agency. Read by "
        "notification and webhooks; agencies read their own copy, motcua.submission.agency.<code>.v1."
    ),
    topics.NOTIFICATION_DELIVERY: "The outcome of each email, SMS and in-app message the platform sends.",
}

# Production topic settings; deploy/k8s/base/kafka-topics.yaml declares the same (a test compares them).
REPLICAS = 3


def service_of(topic: str) -> str:
    """The service that owns (and alone writes) a topic: `motcua.<service>.<entity>.v1`."""
    return topic.split(".")[1]


def _camel(*words: str) -> str:
    head, *rest = [w for part in words for w in part.replace("-", ".").split(".") if w]
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def channel_id(topic: str) -> str:
    """`motcua.submission.application.v1` → `submissionApplication`."""
    _, service, entity, _ = topic.split(".")
    return _camel(service, entity)


def _doc(cls: type[Event]) -> str:
    return " ".join((cls.__doc__ or "").split())


def _schema_version() -> str:
    try:
        return version("motcua-common")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0"


def _to_components(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _to_components(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_to_components(v) for v in node]
    return node


def _hoist_defs(schema: dict[str, Any], into: dict[str, Any], owner: str) -> dict[str, Any]:
    """Move `$defs` into the document's components so `$ref`s resolve inside AsyncAPI."""
    schema = _to_components(schema)
    for key in ("$schema", "$id"):
        schema.pop(key, None)  # an `$id` would change the base URI the refs resolve against
    for name, sub in schema.pop("$defs", {}).items():
        if name in into and into[name] != sub:
            raise ValueError(f"{owner}: sub-schema {name} differs from another event's {name}")
        into[name] = sub
    return schema


def _cloudevents_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary content mode; the record value is `data`.",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_subject",
            "content-type",
        ],
        "properties": {
            "ce_specversion": {"type": "string", "const": SPEC_VERSION},
            "ce_id": {
                "type": "string",
                "description": "Unique per event and the same on every redelivery: deduplicate by it.",
            },
            "ce_source": {"type": "string", "description": "`/motcua/<service>`, the emitting service."},
            "ce_type": {"type": "string", "description": "The event type; selects the `data` schema."},
            "ce_time": {"type": "string", "format": "date-time", "description": "When it happened (UTC)."},
            "ce_subject": {"type": "string", "description": "The aggregate id; also the record key."},
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            REQUEST_ID_HEADER: {
                "type": "string",
                "description": "The X-Request-ID of the HTTP request that caused the event, when there was one.",
            },
        },
    }


def _message(cls: type[Event]) -> dict[str, Any]:
    service = service_of(cls.topic)
    return {
        "name": cls.ce_type,
        "title": cls.__name__,
        "summary": _doc(cls),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEventsHeaders"},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"const": cls.ce_type},
                        "ce_source": {"const": f"/motcua/{service}"},
                        "ce_subject": {"description": f"The `{cls.subject_field}` of the data."},
                    },
                },
            ]
        },
        "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        "correlationId": {
            "description": "The request that caused the event.",
            "location": f"$message.header#/{REQUEST_ID_HEADER}",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": (
                        f"The `{cls.subject_field}` (= `ce_subject`): one aggregate's events share a "
                        "partition and stay in order."
                    ),
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _topic_binding(topic: str) -> dict[str, Any]:
    config: dict[str, Any]
    if topic in topics.COMPACTED:
        config = {"cleanup.policy": ["compact"]}
    else:
        config = {"cleanup.policy": ["delete"], "retention.ms": topics.RETENTION_MS[topic]}
    return {
        "topic": topic,
        "partitions": topics.PARTITIONS[topic],
        "replicas": REPLICAS,
        "topicConfiguration": config,
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


AGENCY_CHANNEL = "submissionAgency"


def _agency_topics(classes: list[type[Event]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Each agency's own topic: the dossier events of that agency's dossiers, copied from the application topic."""
    refs = {cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"} for cls in classes}
    channel = {
        "address": f"{topics.AGENCY_TOPIC_PREFIX}{{agencyCode}}{topics.AGENCY_TOPIC_SUFFIX}",
        "title": f"{topics.AGENCY_TOPIC_PREFIX}<agency code>{topics.AGENCY_TOPIC_SUFFIX}",
        "description": (
            "One agency's dossier events: every event of motcua.submission.application.v1 whose `agency_code` is "
            "this agency's, the same record (same `ce_id`, key and headers), written in the same transaction and "
            "in the same order. Only that agency's Kafka user may read it; agencies subscribe here, with their own "
            "consumer group, and never to the application topic. Created by the submission service at the "
            "agency's first dossier; kept 30 days. On the broker the name is preceded by `KAFKA_TOPIC_PREFIX`."
        ),
        "parameters": {"agencyCode": {"description": "The agency code (`agency_code` of the events), e.g. BTP."}},
        "messages": refs,
        "bindings": {
            "kafka": {
                "partitions": topics.AGENCY_PARTITIONS,
                "replicas": REPLICAS,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": topics.RETENTION_MS[topics.SUBMISSION_APPLICATION],
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    messages = [{"$ref": f"#/channels/{AGENCY_CHANNEL}/messages/{name}"} for name in refs]
    publish = {
        "action": "send",
        "title": "The submission service copies each dossier event to its agency's topic",
        "channel": {"$ref": f"#/channels/{AGENCY_CHANNEL}"},
        "messages": messages,
    }
    consume = {
        "action": "receive",
        "title": "An agency reads its own topic (consumer group `agency-<code>`)",
        "channel": {"$ref": f"#/channels/{AGENCY_CHANNEL}"},
        "messages": messages,
    }
    return channel, publish, consume


WEBHOOK_CHANNEL = "webhookDelivery"


def _webhook_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Standard Webhooks (https://www.standardwebhooks.com): verify the signature before trusting "
        'the body; see docs/agency-guide.md, "Webhooks".',
        "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
        "properties": {
            "webhook-id": {"type": "string", "description": "The CloudEvent `id`: the same on every retry and replay."},
            "webhook-timestamp": {"type": "string", "description": "Seconds since 1970 when this attempt was signed."},
            "webhook-signature": {
                "type": "string",
                "description": "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret in "
                "use (two while a rotated secret's overlap lasts).",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE},
        },
    }


def _webhook_delivery(classes: list[type[Event]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HTTPS channel of webhooks: the same dossier events, as CloudEvents in structured JSON mode."""
    messages = {
        f"{cls.__name__}Webhook": {
            "name": cls.ce_type,
            "title": f"{cls.__name__} (webhook)",
            "summary": _doc(cls),
            "contentType": CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/StandardWebhooksHeaders"},
            "payload": {
                "type": "object",
                "description": "CloudEvents 1.0, structured content mode",
                "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"],
                "properties": {
                    "specversion": {"const": SPEC_VERSION},
                    "id": {"type": "string", "description": "Deduplicate by it (= `webhook-id`)."},
                    "source": {"const": f"/motcua/{service_of(cls.topic)}"},
                    "type": {"const": cls.ce_type},
                    "subject": {"type": "string", "description": f"The `{cls.subject_field}` of the data."},
                    "time": {"type": "string", "format": "date-time"},
                    "datacontenttype": {"const": CONTENT_TYPE},
                    "data": {"$ref": f"#/components/schemas/{cls.__name__}"},
                },
            },
            "bindings": {"http": {"bindingVersion": "0.3.0"}},
        }
        for cls in classes
    }
    channel = {
        "address": "{subscriberUrl}",
        "title": "Webhook deliveries (HTTPS POST to a subscriber)",
        "description": (
            "The events of motcua.submission.application.v1 that a webhook asked for (POST /v1/webhooks), posted "
            "by the webhooks service to the subscriber's URL; each dossier's events in order; a 2xx within 10 s "
            "accepts, anything else is retried with backoff for up to 24 h, then shelved (docs/webhooks.md)."
        ),
        "parameters": {"subscriberUrl": {"description": "The `url` of the webhook, https:// outside development."}},
        "messages": messages,
        "bindings": {"http": {"bindingVersion": "0.3.0"}},
    }
    operation = {
        "action": "send",
        "title": "The webhooks service posts to each subscriber (consumer group `webhooks` on the dossier topic)",
        "channel": {"$ref": f"#/channels/{WEBHOOK_CHANNEL}"},
        "messages": [{"$ref": f"#/channels/{WEBHOOK_CHANNEL}/messages/{name}"} for name in messages],
        "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
    }
    return channel, operation


def build() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: a channel per topic, a message per event type, send/receive operations."""
    by_topic: dict[str, list[type[Event]]] = {t: [] for t in topics.ALL}
    for cls in event_types().values():
        by_topic[cls.topic].append(cls)

    schemas: dict[str, Any] = {"CloudEventsHeaders": _cloudevents_headers()}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        cid = channel_id(topic)
        refs: dict[str, Any] = {}
        for cls in by_topic[topic]:
            schemas[cls.__name__] = _hoist_defs(json_schema(cls), schemas, cls.ce_type)
            messages[cls.__name__] = _message(cls)
            refs[cls.__name__] = {"$ref": f"#/components/messages/{cls.__name__}"}
        channels[cid] = {
            "address": topic,
            "title": topic,
            "description": (
                f"{_TOPIC_NOTES[topic]} Written only by the {service_of(topic)} service. "
                "On the broker the name is preceded by the stack's `KAFKA_TOPIC_PREFIX` (empty in production)."
            ),
            "messages": refs,
            "bindings": {"kafka": _topic_binding(topic)},
        }
        operations[_camel("publish", cid)] = {
            "action": "send",
            "title": f"The {service_of(topic)} service publishes to {topic}",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"} for name in refs],
        }
    for group, consumed in CONSUMER_GROUPS.items():
        for topic in consumed:
            cid = channel_id(topic)
            operations[_camel(group, "consumes", cid)] = {
                "action": "receive",
                "title": f"The {group_service(group)} service reads {topic} (consumer group `{group}`)",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{cls.__name__}"} for cls in by_topic[topic]],
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "const": group},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
            }

    for topic, readers in GROUPLESS_READERS.items():
        cid = channel_id(topic)
        for reader in readers:
            operations[_camel(reader, "reads", cid)] = {
                "action": "receive",
                "title": f"Every process of the {reader} service reads {topic} (no consumer group)",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{cls.__name__}"} for cls in by_topic[topic]],
            }

    dossier_events = by_topic[topics.SUBMISSION_APPLICATION]
    channels[AGENCY_CHANNEL], operations["submissionPublishesAgencyTopics"], operations["agenciesConsume"] = (
        _agency_topics(dossier_events)
    )
    channels[WEBHOOK_CHANNEL], operations["webhooksDelivers"] = _webhook_delivery(dossier_events)
    schemas["StandardWebhooksHeaders"] = _webhook_headers()

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Mot Cua events",
            "version": _schema_version(),
            "description": (
                "The events of Mot Cua, the online one-stop-shop for Vietnamese public services. "
                "CloudEvents 1.0 in Kafka binary content mode: the record value is the JSON `data`, the "
                "attributes are `ce_*` headers, the record key is the aggregate id. Delivery is at least "
                "once: deduplicate by `ce_id`. Renaming or removing a field makes a new `.v2` type; "
                "optional fields may be added to a type at any time. See docs/agency-guide.md."
            ),
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker of `make run` or `docker compose up`. Operators give agencies "
                "the production address and credentials.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    """`<ce_type>.json` → the published JSON Schema of that type's `data`."""
    return {f"{ce_type}.json": json_schema(cls) for ce_type, cls in event_types().items()}


def render_document(document: dict[str, Any]) -> str:
    header = "# Generated by `python -m motcua.common.asyncapi` from the event registry. Do not edit.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(docs: Path) -> list[Path]:
    """Write the document and the schemas under `docs`, removing schemas of types that no longer exist."""
    written = [docs / DOCUMENT_NAME]
    docs.mkdir(parents=True, exist_ok=True)
    (docs / DOCUMENT_NAME).write_text(render_document(build()), encoding="utf-8")
    schema_dir = docs / EVENT_SCHEMA_DIR
    schema_dir.mkdir(exist_ok=True)
    wanted = event_schemas()
    for stale in schema_dir.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, schema in wanted.items():
        path = schema_dir / name
        path.write_text(render_schema(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m motcua.common.asyncapi",
        description="Write docs/asyncapi.yaml and docs/events/<ce_type>.json from the event registry.",
    )
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs directory (default: ./docs)")
    args = parser.parse_args(argv)
    for path in write(args.docs):
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
