"""Identity benchmark: sign-in throughput beside the bare argon2id verify rate, in the same run.

    .venv/bin/python bench/identity.py [--clients 8] [--logins 240]

Starts its own MongoDB- and Kafka-protocol servers, runs identity in-process over real HTTP, and
prints medians and percentiles. Sign-in is bounded by argon2id (CPU and memory hard, by design),
so the interesting number is how close logins/s comes to the verify rate the same cores allow.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from argon2 import PasswordHasher, Type
from motcua.common import mongo
from motcua.devtools.testing import running_app, start_local_stack
from motcua.identity.app import build_app
from motcua.identity.settings import Settings

PASSWORD = "sông Hồng chảy qua bốn mùa"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(samples: list[float], q: float) -> str:
    return f"{pct(samples, q) * 1000:.1f}"


def _hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.identity_argon2_time_cost,
        memory_cost=settings.identity_argon2_memory_kib,
        parallelism=settings.identity_argon2_parallelism,
        type=Type.ID,
    )


def single_thread_rate(settings: Settings, seconds: float = 2.0) -> tuple[float, float]:
    """Bare verifies per second on one thread, and the median verify time in ms."""
    hasher = _hasher(settings)
    stored = hasher.hash(PASSWORD)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        times.append(time.perf_counter() - began)
    return len(times) / sum(times), statistics.median(times) * 1000


def slots_rate(settings: Settings, count: int = 48) -> float:
    """Bare verifies per second with as many threads as the service hashes at once."""
    hasher = _hasher(settings)
    stored = hasher.hash(PASSWORD)
    with ThreadPoolExecutor(settings.identity_hash_concurrency) as pool:
        began = time.perf_counter()
        list(pool.map(lambda _: hasher.verify(stored, PASSWORD), range(count)))
        return count / (time.perf_counter() - began)


async def make_accounts(http: httpx.AsyncClient, db: mongo.Database, count: int) -> list[str]:
    """Registered over HTTP, then marked verified directly (the bench measures sign-in, not email)."""
    emails = []
    for n in range(count):
        email = f"bench.{n}.{uuid.uuid4().hex[:6]}@example.vn"
        body = {
            "account_type": "individual",
            "full_name": "Nguyễn Thị An",
            "email": email,
            "phone": f"0912{n:06d}",
            "password": PASSWORD,
            "national_id": f"0011900{n:05d}",
        }
        response = await http.post("/v1/accounts", json=body, headers={"X-Forwarded-For": f"10.0.{n}.1"})
        response.raise_for_status()
        emails.append(email)
    now = datetime.now(UTC)
    await db.accounts.update_many(
        {}, {"$set": {"status": "active", "email_verified_at": now, "phone_verified_at": now}}
    )
    return emails


async def timed_logins(
    http: httpx.AsyncClient, usernames: list[str], password: str, total: int, clients: int, expect: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def client(k: int) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            began = time.perf_counter()
            response = await http.post(
                "/v1/auth/login",
                json={"username": usernames[n % len(usernames)], "password": password},
                headers={"X-Forwarded-For": f"10.1.{k}.{n % 250}"},
            )
            latencies.append(time.perf_counter() - began)
            assert response.status_code == expect, response.text

    began = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies, time.perf_counter() - began


async def failed_logins(http: httpx.AsyncClient, emails: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Wrong passwords for real accounts and for missing ones, interleaved so load hits both alike."""
    existing: list[float] = []
    missing: list[float] = []
    for n in range(rounds):
        for username, samples in ((emails[n % len(emails)], existing), (f"nobody.{n}@example.vn", missing)):
            began = time.perf_counter()
            response = await http.post(
                "/v1/auth/login",
                json={"username": username, "password": "not the password"},
                headers={"X-Forwarded-For": f"10.2.0.{n % 250}"},
            )
            samples.append(time.perf_counter() - began)
            assert response.status_code == 401, response.text
    return existing, missing


async def run(workdir: Path, clients: int, logins: int) -> None:
    stack = start_local_stack(workdir / "servers")
    try:
        settings = Settings(
            mongodb_uri=stack.mongodb_uri,
            kafka_bootstrap_servers=stack.kafka_bootstrap,
            mongodb_db="bench_identity",
            kafka_topic_prefix="bench.",
            identity_signing_key_file=workdir / "signing-key.pem",
            identity_lockout_threshold=10**6,
            identity_ip_lockout_threshold=10**6,
            log_level="WARNING",
        )
        one, verify_ms = await asyncio.to_thread(single_thread_rate, settings)
        before = await asyncio.to_thread(slots_rate, settings)
        client = mongo.connect(stack.mongodb_uri)
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with (
            running_app(build_app(settings)) as url,
            httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http,
        ):
            emails = await make_accounts(http, client[settings.database_name], clients)
            await timed_logins(http, emails, PASSWORD, clients * 2, clients, 200)  # warm up
            ok, ok_wall = await timed_logins(http, emails, PASSWORD, logins, clients, 200)
            after = await asyncio.to_thread(slots_rate, settings)
            wrong, absent = await failed_logins(http, emails, 60)
        await client.close()
    finally:
        stack.stop()

    rate = logins / ok_wall
    parallel = (before + after) / 2  # measured just before and just after the sign-ins (the machine is shared)
    print(
        f"identity sign-in bench: {clients} concurrent clients, {logins} logins, argon2id "
        f"t={settings.identity_argon2_time_cost} m={settings.identity_argon2_memory_kib} KiB "
        f"p={settings.identity_argon2_parallelism}, {settings.identity_hash_concurrency} hashing slots"
    )
    rows = [
        ("bare argon2id verify, 1 thread", f"{one:.1f}", f"{verify_ms:.1f}", ""),
        ("bare argon2id verify, hashing slots (mean)", f"{parallel:.1f}", "", ""),
        ("POST /v1/auth/login (200, tokens issued)", f"{rate:.1f}", ms(ok, 50), ms(ok, 99)),
        ("login, wrong password, existing (sequential)", "", ms(wrong, 50), ms(wrong, 99)),
        ("login, no such account (sequential)", "", ms(absent, 50), ms(absent, 99)),
    ]
    print(f"{'measure':<46}{'rate/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, *cells in rows:
        print(f"{name:<46}" + "".join(f"{c:>9}" for c in cells))
    print(f"logins/s ÷ bare verifies/s (same slots): {rate / parallel:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), args.clients, args.logins))


if __name__ == "__main__":
    main()
