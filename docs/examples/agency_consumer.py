"""Follow the dossiers submitted to your agency on Mot Cua: one line per ApplicationReceived and status change.

    pip install aiokafka
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python agency_consumer.py --agency EXAMPLE --group agency-example

It reads your agency's own topic, `motcua.submission.agency.<your agency code>.v1`: your dossiers' events,
and no other agency's (your Kafka user may read only that topic).

Settings (environment):
    KAFKA_BOOTSTRAP_SERVERS   brokers, comma-separated (default 127.0.0.1:9092)
    KAFKA_TOPIC_PREFIX        the stack's topic prefix (default empty, as in production)
    KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default) or SASL_SSL for the production cluster, with
    KAFKA_SASL_MECHANISM      SCRAM-SHA-512
    KAFKA_SASL_USERNAME       your Kafka user, e.g. agency-example
    KAFKA_SASL_PASSWORD       its password
    KAFKA_SSL_CA_FILE         the cluster's CA certificate (PEM)

Delivery is at least once: after a restart or a rebalance you may see an event again. This example
skips repeats by `ce_id` in memory; a real consumer records each processed `ce_id` in its own database,
in the same transaction as what it does with the event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import OrderedDict
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.helpers import create_ssl_context

TOPIC = "motcua.submission.agency.{agency}.v1"
RECEIVED = "motcua.submission.ApplicationReceived.v1"
STATUS_CHANGED = "motcua.submission.ApplicationStatusChanged.v1"


class SeenEvents:
    """The last `size` event ids handled, to skip redeliveries."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, event_id: str) -> bool:
        """Remember the id; False when it was already there."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def describe(ce_type: str, data: dict[str, Any]) -> str | None:
    """One line for an event this example knows; None for any other type (new types may appear)."""
    common = (
        f"tracking_code={data['tracking_code']} procedure={data['procedure_code']} "
        f"agency={data['agency_code']} due_date={data['due_date']} application_id={data['application_id']}"
    )
    if ce_type == RECEIVED:
        return f"ApplicationReceived {common} submitted_at={data['submitted_at']}"
    if ce_type == STATUS_CHANGED:
        return f"ApplicationStatusChanged {common} from={data['from']} to={data['to']} by={data['by_role']}"
    return None


def kafka_settings() -> dict[str, Any]:
    settings: dict[str, Any] = {
        "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "security_protocol": os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
    }
    if settings["security_protocol"].startswith("SASL"):
        settings["sasl_mechanism"] = os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        settings["sasl_plain_username"] = os.environ["KAFKA_SASL_USERNAME"]
        settings["sasl_plain_password"] = os.environ["KAFKA_SASL_PASSWORD"]
    if settings["security_protocol"].endswith("SSL"):
        settings["ssl_context"] = create_ssl_context(cafile=os.environ.get("KAFKA_SSL_CA_FILE"))
    return settings


async def follow(group: str, agency: str, max_events: int | None) -> None:
    consumer = AIOKafkaConsumer(
        os.environ.get("KAFKA_TOPIC_PREFIX", "") + TOPIC.format(agency=agency),
        group_id=group,
        enable_auto_commit=False,  # commit only what has been handled
        auto_offset_reset="earliest",  # a new group starts with every event still on the topic
        **kafka_settings(),
    )
    seen = SeenEvents()
    handled = 0
    await consumer.start()
    try:
        async for record in consumer:
            headers = {key: value.decode() for key, value in record.headers}
            data = json.loads(record.value)
            line = describe(headers.get("ce_type", ""), data)
            if line and seen.add(headers["ce_id"]):
                print(f"{headers['ce_time']} {line} ce_id={headers['ce_id']}", flush=True)
                handled += 1
            # The record is handled (or deliberately skipped): only now move the group past it.
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            if max_events is not None and handled >= max_events:
                return
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--group",
        default=os.environ.get("KAFKA_GROUP_ID", "agency-example"),
        help="your consumer group: the one your Kafka user may read with (default agency-example)",
    )
    parser.add_argument(
        "--agency",
        default=os.environ.get("AGENCY_CODE", "EXAMPLE"),
        help="your agency code: its topic is the one read (default EXAMPLE)",
    )
    parser.add_argument("--max-events", type=int, help="stop after printing this many events")
    args = parser.parse_args()
    try:
        asyncio.run(follow(args.group, args.agency, args.max_events))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
