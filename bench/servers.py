"""The local servers' bare rates: what the database and the broker can do with no service in the way.

Prints two-insert transactions/s (a state write and its outbox event, 1 and 8 clients), single
inserts/s (1 and 8 clients) and aiokafka produce → consume records/s (acks=all, idempotent). With no
option it starts the pinned local servers (Apache Kafka, secantusd-rs) in a temporary folder; with
`--mongodb-uri` / `--kafka` it measures servers already running (to compare other servers on the same
machine in the same hour: that is how docs/performance.md puts the retired stand-ins beside these).
Run: `.venv/bin/python bench/servers.py [--seconds 6] [--records 20000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from common import bare_kafka
from e2e import FORM, bare_transactions
from motcua.common import mongo
from motcua.devtools.testing import start_local_stack


async def bare_inserts(uri: str, seconds: float, workers: int) -> float:
    """One document per insert, acknowledged, back to back from `workers` clients."""
    client = mongo.connect(uri)
    collection = client["bench_bare_inserts"]["documents"]
    done = 0
    until = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < until:
            await collection.insert_one({"data": FORM})
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    rate = done / (time.perf_counter() - began)
    await client.drop_database("bench_bare_inserts")
    await client.close()
    return rate


async def measure(
    uri: str, bootstrap: str, seconds: float, records: int, *, idempotent: bool
) -> list[tuple[str, float, str]]:
    rows = []
    for workers in (1, 8):
        rows.append(
            (
                f"two-insert transactions, {workers} client(s)",
                await bare_transactions(uri, seconds, workers),
                "transactions/s",
            )
        )
    for workers in (1, 8):
        rows.append((f"single inserts, {workers} client(s)", await bare_inserts(uri, seconds, workers), "inserts/s"))
    kind = "acks=all, idempotent" if idempotent else "acks=all"
    rows.append(
        (f"produce → consume ({kind})", await bare_kafka(bootstrap, records, idempotent=idempotent), "records/s")
    )
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--mongodb-uri", help="measure this MongoDB-protocol server instead of starting one")
    parser.add_argument("--kafka", help="measure this Kafka-protocol broker instead of starting one")
    parser.add_argument("--seconds", type=float, default=6.0, help="per database measure")
    parser.add_argument("--records", type=int, default=20_000, help="records produced and consumed")
    parser.add_argument("--no-idempotence", action="store_true", help="for a broker without idempotent producers")
    args = parser.parse_args()
    stack = None
    if not (args.mongodb_uri and args.kafka):
        print("starting the local servers (Apache Kafka, secantusd-rs) …", flush=True)
        stack = start_local_stack(Path(tempfile.mkdtemp(prefix="motcua-bench-servers-")))
    try:
        uri = args.mongodb_uri or (stack.mongodb_uri if stack else "")
        bootstrap = args.kafka or (stack.kafka_bootstrap if stack else "")
        rows = await measure(uri, bootstrap, args.seconds, args.records, idempotent=not args.no_idempotence)
    finally:
        if stack is not None:
            stack.stop()
    print("| bare measure | rate |")
    print("|---|---|")
    for name, rate, unit in rows:
        print(f"| {name} | {rate:,.0f} {unit} |")


if __name__ == "__main__":
    asyncio.run(main())
