"""End-to-end load benchmark: many citizens filing dossiers through the gateway, beside a bare transaction.

The platform runs as `make run` starts it (five service processes, the local MongoDB- and
Kafka-protocol servers), with an SMTP server and an SMS endpoint of the benchmark's own. Citizens
are prepared beforehand through the real API (register, the emailed link, the SMS code, sign in);
then each, for `--seconds`: draft → autosave → upload a small PDF → submit, back to back. Printed:
submissions/s, submit latency p50/p95/p99, event lag (submit answered → ApplicationReceived email
accepted by the SMTP server) p50/p99, CPU and memory of each process, and the bare rate of a
two-insert transaction on the same MongoDB server in the same run; the headline is their ratio, how
many bare transactions one dossier costs end to end. JSON, a Markdown table and a PNG of throughput
and latency over time go to `bench-out/`.

Shortcuts, all limited to what is not measured: password hashing is made cheap (argon2 8 MiB, one
pass) so preparing accounts is quick; the per-address and per-citizen limits (gateway rate limit,
registrations per address, drafts and uploads per citizen) are raised, since every simulated citizen
comes from 127.0.0.1 and files far more dossiers than a person would.

Run: `.venv/bin/python bench/e2e.py [--citizens 24] [--seconds 60]` (or `make bench-e2e`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform as host
import re
import secrets
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import psutil
from motcua.common import mongo
from motcua.devtools import devservers
from motcua.devtools.testing_messages import SmsEndpoint, SmtpCapture

OUT = Path(__file__).resolve().parent.parent / "bench-out"
PASSWORD = "Sông Hồng chảy qua bốn mùa 2026"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FORM = {
    "child_full_name": "Nguyễn Minh Khang",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "male",
    "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
    "father_full_name": "Nguyễn Văn Bình",
    "mother_full_name": "Trần Thị Hoa",
    "requester_relationship": "father",
}
RECEIVED = re.compile(r"Đã nộp hồ sơ (\S+) ")
OVERRIDES = {
    "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
    "GATEWAY_RATE_LIMIT_BURST": "100000",
    "IDENTITY_REGISTRATIONS_PER_IP_PER_HOUR": "100000",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_TIME_COST": "1",
    "DRAFT_LIMIT": "1000000",
    "UPLOAD_LIMIT": "1000000",
    "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": "quantri.bench@motcua.example.vn",
    "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": "Quản-trị-Đo-tải-Một-Cửa-2026",
    "LOG_LEVEL": "WARNING",
    "MONGODB_COMMAND_COUNTS": "1",  # each service counts its database commands on /metrics
}
COUNTED = ("identity", "catalogue", "submission", "notification")
_COMMAND_LINE = re.compile(
    r'^motcua_mongodb_commands_total\{collection="([^"]*)",command="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE
)


async def command_counts(platform: devservers.Platform) -> dict[str, dict[str, float]]:
    """Each service's database commands so far, by "command collection" (read from its /metrics)."""
    counts: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name in COUNTED:
            if name in platform.services:
                text = (await http.get(f"{platform.url(name)}/metrics")).text
                counts[name] = {f"{cmd} {coll}".strip(): float(n) for coll, cmd, n in _COMMAND_LINE.findall(text)}
    return counts


def by_command(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """A per-collection table folded to command names."""
    folded: dict[str, dict[str, float]] = {}
    for service, counts in table.items():
        names: dict[str, float] = {}
        for key, n in counts.items():
            cmd = key.split()[0]
            names[cmd] = names.get(cmd, 0.0) + n
        folded[service] = {cmd: round(n, 2) for cmd, n in sorted(names.items())}
    return folded


def per_dossier(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], dossiers: int
) -> dict[str, dict[str, float]]:
    """The commands the run added, per dossier filed, by service and command (and collection)."""
    table: dict[str, dict[str, float]] = {}
    for service, counts in after.items():
        added = {cmd: n - before.get(service, {}).get(cmd, 0.0) for cmd, n in counts.items()}
        table[service] = {cmd: round(n / dossiers, 2) for cmd, n in sorted(added.items()) if n > 0}
    return table


@dataclass(frozen=True)
class Emails:
    """The ApplicationReceived emails the SMTP server accepted: tracking code → when the first came."""

    received_at: dict[str, float]
    repeats: int

    @classmethod
    def of(cls, smtp: SmtpCapture) -> Emails:
        first: dict[str, float] = {}
        repeats = 0
        for mail in smtp.mails:
            if found := RECEIVED.search(mail.subject):
                repeats += found.group(1) in first
                first.setdefault(found.group(1), mail.at)
        return cls(first, repeats)


async def prepare_citizen(
    gateway: httpx.AsyncClient, smtp: SmtpCapture, sms: SmsEndpoint
) -> tuple[str, dict[str, str]]:
    """Register, verify email and phone with what the platform sent, sign in: the username and an access header."""
    digits = "".join(secrets.choice("0123456789") for _ in range(13))
    person = {
        "account_type": "individual",
        "full_name": "Nguyễn Văn Bình",
        "phone": "091" + digits[:7],
        "email": f"binh.{uuid.uuid4().hex[:10]}@example.vn",
        "password": PASSWORD,
        "national_id": "001190" + digits[7:13],
    }
    account = (await gateway.post("/v1/accounts", json=person)).raise_for_status().json()
    token = await smtp.find(person["email"], r"/verify-email\?token=([^\s\"'<>]+)")
    (await gateway.post("/v1/accounts/verify-email", json={"token": unquote(token)})).raise_for_status()
    code = await sms.find(account["phone"], r"\b(\d{6})\b")
    (
        await gateway.post("/v1/accounts/verify-phone", json={"account_id": account["id"], "code": code})
    ).raise_for_status()
    tokens = (
        (await gateway.post("/v1/auth/login", json={"username": person["email"], "password": PASSWORD}))
        .raise_for_status()
        .json()
    )
    return person["email"], {"Authorization": f"Bearer {tokens['access_token']}"}


@dataclass
class Load:
    """What the crowd did: each submit's answer time and latency, each step's latencies, the failures."""

    submits: list[tuple[float, float, str]] = field(default_factory=list)  # (answered at, seconds, code)
    steps: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    async def step(self, name: str, expected: int, call: Any) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            answer: httpx.Response = await call
        except httpx.HTTPError as exc:
            self.failures[f"{name}: {type(exc).__name__}"] = self.failures.get(f"{name}: {type(exc).__name__}", 0) + 1
            return None
        self.steps.setdefault(name, []).append(time.perf_counter() - began)
        if answer.status_code != expected:
            self.failures[f"{name}: {answer.status_code}"] = self.failures.get(f"{name}: {answer.status_code}", 0) + 1
            return None
        return answer


async def citizen_loop(gateway: httpx.AsyncClient, auth: dict[str, str], load: Load, until: float) -> None:
    while time.monotonic() < until:
        draft = await load.step(
            "draft", 201, gateway.post("/v1/applications", json={"procedure_code": "HT-KS-01"}, headers=auth)
        )
        if draft is None:
            continue
        app = f"/v1/applications/{draft.json()['id']}"
        patch = {**auth, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"}
        if (
            await load.step("autosave", 200, gateway.patch(app, content=json.dumps({"data": FORM}), headers=patch))
            is None
        ):
            continue
        if (
            await load.step(
                "upload",
                201,
                gateway.post(
                    f"{app}/documents",
                    headers=auth,
                    data={"document_key": "birth_certificate_medical"},
                    files={"file": ("giay-chung-sinh.pdf", PDF, "application/pdf")},
                ),
            )
            is None
        ):
            continue
        began = time.perf_counter()
        submitted = await load.step(
            "submit", 200, gateway.post(f"{app}/submit", headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
        )
        if submitted is not None:
            load.submits.append((time.time(), time.perf_counter() - began, submitted.json()["tracking_code"]))


def sample_processes(
    processes: dict[str, psutil.Process], samples: dict[str, list[tuple[float, float]]], stop: threading.Event
) -> None:
    """Every second: CPU % (of one core) and resident memory (MiB) of each process."""
    for p in processes.values():
        p.cpu_percent(None)
    while not stop.wait(1.0):
        for name, p in processes.items():
            try:
                samples.setdefault(name, []).append((p.cpu_percent(None), p.memory_info().rss / 2**20))
            except psutil.Error:
                continue


async def bare_transactions(uri: str, seconds: float, workers: int) -> float:
    """Two inserts in one transaction, as a service writes state and its outbox event, back to back."""
    client = mongo.connect(uri)
    db = client["bench_bare"]
    await mongo.ensure_collections(db, {"state": [], "outbox": []})
    done = 0
    until = time.monotonic() + seconds

    async def work(session: mongo.Session) -> None:
        await db["state"].insert_one({"data": FORM}, session=session)
        await db["outbox"].insert_one({"type": "x", "data": FORM}, session=session)

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < until:
            await mongo.in_transaction(client, work)
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    rate = done / (time.perf_counter() - began)
    await client.drop_database("bench_bare")
    await client.close()
    return rate


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def plot(load: Load, emails: Emails, started: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = sorted({int(at - started) for at, _, _ in load.submits})[:-1]  # the last second is partial
    rate = [sum(1 for at, _, _ in load.submits if int(at - started) == s) for s in seconds]
    p50 = [statistics.median([d for at, d, _ in load.submits if int(at - started) == s]) * 1000 for s in seconds]
    p95 = [pct([d for at, d, _ in load.submits if int(at - started) == s], 0.95) * 1000 for s in seconds]
    lag = [
        statistics.median(
            [
                emails.received_at[c] - at
                for at, _, c in load.submits
                if int(at - started) == s and c in emails.received_at
            ]
            or [float("nan")]
        )
        for s in seconds
    ]
    figure, (top, bottom, lowest) = plt.subplots(3, 1, sharex=True, figsize=(9, 8))
    top.plot(seconds, rate, color="tab:blue")
    top.set_ylabel("submissions / s")
    top.set_title("Mot Cua end to end: draft → autosave → upload → submit, through the gateway")
    bottom.plot(seconds, p50, label="submit p50")
    bottom.plot(seconds, p95, label="submit p95")
    bottom.set_ylabel("latency (ms)")
    bottom.legend()
    lowest.plot(seconds, lag, color="tab:red", label="submit answered → email accepted, p50")
    lowest.set_ylabel("event lag (s)")
    lowest.set_xlabel("seconds into the run (by when the submit was answered)")
    lowest.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def summary(
    load: Load,
    emails: Emails,
    seconds: float,
    bare: dict[int, float],
    samples: dict[str, list[tuple[float, float]]],
    citizens: int,
    commands: dict[str, dict[str, float]],
) -> dict[str, Any]:
    latencies = [d for _, d, _ in load.submits]
    lags = [emails.received_at[code] - at for at, _, code in load.submits if code in emails.received_at]
    rate = len(load.submits) / seconds
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.node()}: {psutil.cpu_count()} CPU ({host.processor() or host.machine()}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {host.system()} {host.release()}, "
        f"Python {host.python_version()}",
        "citizens": citizens,
        "seconds": round(seconds, 1),
        "submissions": len(load.submits),
        "submissions_per_second": round(rate, 2),
        "submit_ms": {q: round(pct(latencies, v) * 1000, 1) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "step_p50_ms": {name: round(statistics.median(v) * 1000, 1) for name, v in load.steps.items()},
        "event_lag_ms": {"p50": round(pct(lags, 0.5) * 1000, 1), "p99": round(pct(lags, 0.99) * 1000, 1)},
        "emails_missing": len(load.submits) - len(lags),
        "emails_repeated": emails.repeats,
        "failures": load.failures,
        "processes": {
            name: {
                "cpu_percent_mean": round(statistics.mean(c for c, _ in s), 1),
                "rss_mib_max": round(max(m for _, m in s), 1),
            }
            for name, s in samples.items()
            if s
        },
        "bare_two_insert_transactions_per_second": {f"{n} client(s)": round(r, 1) for n, r in bare.items()},
        # the server's best bare rate: what it could do if a dossier cost one such transaction
        "ratio_bare_transactions_per_dossier": round(max(bare.values()) / rate, 1) if rate else None,
        # counted by every service's command listener over the filing phase, idle background work included
        "commands_per_dossier": by_command(commands),
        "commands_per_dossier_total": round(sum(sum(c.values()) for c in commands.values()), 1),
        "commands_per_dossier_by_collection": commands,
    }


def per_minute(load: Load, emails: Emails, started: float, seconds: float) -> list[dict[str, Any]]:
    """Each minute of the run: dossiers per second, submit latency, submit → email lag."""
    buckets: dict[int, list[tuple[float, float, str]]] = {}
    for submit in load.submits:
        buckets.setdefault(min(int((submit[0] - started) // 60), max(0, int(seconds // 60) - 1)), []).append(submit)
    rows = []
    for minute in sorted(buckets):
        subs = buckets[minute]
        span = 60.0 if (minute + 1) * 60 <= seconds else seconds - minute * 60
        lags = [emails.received_at[code] - at for at, _, code in subs if code in emails.received_at]
        rows.append(
            {
                "minute": minute + 1,
                "submissions_per_second": round(len(subs) / max(span, 1.0), 2),
                "submit_p50_ms": round(pct([d for _, d, _ in subs], 0.5) * 1000, 1),
                "submit_p99_ms": round(pct([d for _, d, _ in subs], 0.99) * 1000, 1),
                "lag_p50_ms": round(pct(lags, 0.5) * 1000, 1) if lags else None,
                "lag_p99_ms": round(pct(lags, 0.99) * 1000, 1) if lags else None,
            }
        )
    return rows


def markdown(result: dict[str, Any]) -> str:
    rows = [
        ("machine", result["machine"]),
        ("citizens × seconds", f"{result['citizens']} × {result['seconds']} s"),
        ("submissions/s (sustained)", f"{result['submissions_per_second']:,} ({result['submissions']} dossiers)"),
        ("submit latency p50 / p95 / p99", " / ".join(f"{v:,.0f} ms" for v in result["submit_ms"].values())),
        (
            "draft / autosave / upload p50",
            " / ".join(f"{result['step_p50_ms'].get(s, 0):,.0f} ms" for s in ("draft", "autosave", "upload")),
        ),
        ("event lag submit → email p50 / p99", " / ".join(f"{v:,.0f} ms" for v in result["event_lag_ms"].values())),
        ("emails missing / repeated", f"{result['emails_missing']} / {result['emails_repeated']}"),
        ("failed requests", ", ".join(f"{k}: {v}" for k, v in result["failures"].items()) or "none"),
        (
            "bare two-insert transactions/s, same MongoDB (1 / 8 clients)",
            " / ".join(f"{v:,.0f}" for v in result["bare_two_insert_transactions_per_second"].values()),
        ),
        ("**ratio: bare transactions per dossier**", f"**{result['ratio_bare_transactions_per_dossier']}×**"),
    ]
    table = ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    table += ["", "| process | CPU (mean % of one core) | memory (max RSS) |", "|---|---|---|"]
    table += [
        f"| {name} | {p['cpu_percent_mean']} | {p['rss_mib_max']} MiB |" for name, p in result["processes"].items()
    ]
    minutes: list[dict[str, Any]] = result.get("minutes", [])
    if minutes:
        table += ["", "| minute | dossiers/s | submit p50 / p99 | email lag p50 / p99 |", "|---|---|---|---|"]
        table += [
            f"| {m['minute']} | {m['submissions_per_second']} "
            f"| {m['submit_p50_ms']:,.0f} / {m['submit_p99_ms']:,.0f} ms "
            f"| {m['lag_p50_ms'] or 0:,.0f} / {m['lag_p99_ms'] or 0:,.0f} ms |"
            for m in minutes
        ]
        first, last = minutes[0], minutes[-1]
        if len(minutes) > 1 and first["submissions_per_second"] and first["submit_p99_ms"]:
            rate = last["submissions_per_second"] / first["submissions_per_second"]
            p99 = last["submit_p99_ms"] / first["submit_p99_ms"]
            table += ["", f"last minute ÷ first: throughput {rate:.2f}× (target ≥ 0.90), submit p99 {p99:.2f}× (≤ 1.2)"]
    commands: dict[str, dict[str, float]] = result.get("commands_per_dossier", {})
    if commands:
        names = sorted({cmd for c in commands.values() for cmd in c})
        table += ["", "| database commands per dossier | " + " | ".join(commands) + " |"]
        table += ["|---|" + "---|" * len(commands)]
        table += [f"| {cmd} | " + " | ".join(f"{c.get(cmd, 0):g}" for c in commands.values()) + " |" for cmd in names]
        totals = " | ".join(f"**{sum(c.values()):.1f}**" for c in commands.values())
        table += [f"| **all ({result['commands_per_dossier_total']:g})** | {totals} |"]
        detail: dict[str, dict[str, float]] = result.get("commands_per_dossier_by_collection", {})
        heaviest = sorted(((n, f"{svc} {key}") for svc, c in detail.items() for key, n in c.items()), reverse=True)
        table += ["", "heaviest: " + ", ".join(f"{what} {n:g}" for n, what in heaviest[:12])]
    return "\n".join(table) + "\n"


async def run(citizens: int, seconds: float) -> dict[str, Any]:
    smtp, sms = SmtpCapture(), SmsEndpoint()
    smtp.start()
    sms.start()
    var = Path(tempfile.mkdtemp(prefix="motcua-bench-e2e-"))
    overrides = {
        **OVERRIDES,
        **smtp.settings,
        **sms.settings,
    }
    print(f"starting the platform under {var} …", flush=True)
    platform = await asyncio.to_thread(devservers.start_platform, var, overrides, free_ports=True)
    try:
        limits = httpx.Limits(max_connections=citizens + 8, max_keepalive_connections=citizens + 8)
        async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=60, limits=limits) as gateway:
            print(f"preparing {citizens} citizens through the API …", flush=True)
            gate = asyncio.Semaphore(8)

            async def prepared() -> tuple[str, dict[str, str]]:
                async with gate:
                    return await prepare_citizen(gateway, smtp, sms)

            people = [await prepare_citizen(gateway, smtp, sms)]  # the first alone: it opens identity's counters
            people += await asyncio.gather(*(prepared() for _ in range(citizens - 1)))
            await asyncio.sleep(3)  # the platform idle again: the bare rate is the server's, undisturbed
            print("bare two-insert transactions on the same MongoDB server …", flush=True)
            bare = {n: await bare_transactions(platform.env["MONGODB_URI"], 6.0, workers=n) for n in (1, 8)}
            processes = {
                name: psutil.Process(p.pid)
                for name, p in {**platform.services, **platform.servers}.items()
                if p.pid is not None and name != "smtp"
            }
            processes["bench (load + SMTP)"] = psutil.Process()
            samples: dict[str, list[tuple[float, float]]] = {}
            stop = threading.Event()
            sampler = threading.Thread(target=sample_processes, args=(processes, samples, stop), daemon=True)
            print(f"{citizens} citizens filing dossiers for {seconds:.0f} s …", flush=True)
            load = Load()
            counted = await command_counts(platform)
            started = time.time()
            sampler.start()
            until = time.monotonic() + seconds
            await asyncio.gather(*(citizen_loop(gateway, auth, load, until) for _, auth in people))
            elapsed = time.time() - started
            stop.set()
            codes = [code for _, _, code in load.submits]
            for _ in range(900):  # the emails still on their way
                if set(codes) <= Emails.of(smtp).received_at.keys():
                    break
                await asyncio.sleep(0.1)
            commands = per_dossier(counted, await command_counts(platform), len(load.submits) or 1)
    finally:
        await asyncio.to_thread(platform.stop)
        smtp.stop()
        sms.stop()
    emails = Emails.of(smtp)
    result = summary(load, emails, elapsed, bare, samples, citizens, commands)
    result["minutes"] = per_minute(load, emails, started, elapsed)
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"e2e-{stamp}.json").write_text(json.dumps({**result, "submits": asdict(load)["submits"]}, indent=1))
    (OUT / f"e2e-{stamp}.md").write_text(markdown(result))
    plot(load, emails, started, OUT / f"e2e-{stamp}.png")
    print(f"written: bench-out/e2e-{stamp}.json, .md, .png")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.citizens, args.seconds))
    print(markdown(result))
    if result["emails_missing"]:
        raise SystemExit(f"{result['emails_missing']} accepted dossier(s) never got their email")


if __name__ == "__main__":
    main()
