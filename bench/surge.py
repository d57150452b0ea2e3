"""Surge benchmark: 50, 400 and 1,500 concurrent visitors through the gateway — what is served, what is shed.

The platform runs as `make run` starts it (five service processes, the local MongoDB- and
Kafka-protocol servers), with an SMTP server and an SMS endpoint of the benchmark's own. Citizens
are prepared through the real API first. Then, level by level, that many visitors arrive within a
second and work back to back for `--seconds`: 70 % search the catalogue and open a procedure, 15 %
sign in, 15 % file a birth registration (draft → autosave → upload a PDF → submit with an
Idempotency-Key). A visitor answered 503 with `Retry-After` waits that long (times 1 to 1.5, the
jitter the portal's waiting room uses) and tries the same step again, as the portal does; a submit
whose answer was lost is sent again with the same key.

Printed per level: served req/s (answers from the services), p50/p99 of those answers' time, the
share shed (503 + Retry-After from admission control), how fast a shed request was answered, and
every error (connection errors, 5xx other than a shed 503, unexpected statuses). Afterwards: every
accepted submission is in the submission database once and got its ApplicationReceived email
once. JSON, a Markdown table and a PNG (per-second throughput and latency over the run) go to
`bench-out/`.

Shortcuts, limited to what is not measured: password hashing is made cheap (as in bench/e2e.py),
per-address and per-citizen limits are raised (every visitor comes from 127.0.0.1), and the filers
share the prepared citizens' accounts.

Run: `.venv/bin/python bench/surge.py [--levels 50,400,1500] [--seconds 20] [--citizens 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform as host
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import psutil
import uvloop
from e2e import FORM, OVERRIDES, PASSWORD, PDF, Emails, pct, prepare_citizen, sample_processes
from motcua.common import mongo
from motcua.devtools import devservers
from motcua.devtools.testing_messages import SmsEndpoint, SmtpCapture

OUT = Path(__file__).resolve().parent.parent / "bench-out"
SURGE_OVERRIDES = {**OVERRIDES, "LOOKUP_LIMIT": "1000000"}
QUERIES = [
    "khai sinh",
    "dang ky kinh doanh",
    "ho kinh doanh",
    "ket hon",
    "giay phep lai xe",
    "ly lich tu pháp",
    "cư trú",
    "xây dựng",
    "bảo hiểm xã hội",
    "chứng thực",
]
PROCEDURES = ["HT-KS-01", "HT-KH-01", "DKKD-HKD-01", "GPLX-CD-01", "LLTP-01", "CT-TT-01", "HC-PT-01", "CC-CD-01"]
JSON = {"Content-Type": "application/json"}
MIX = (("search", 0.70), ("sign_in", 0.15), ("file", 0.15))


@dataclass
class Sample:
    at: float  # when it was sent, seconds since the run began
    seconds: float
    step: str
    outcome: str  # served | shed | error:<what>


@dataclass
class Run:
    began: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # tracking code → application id
    unanswered_submits: int = 0  # still without an answer when the level ended
    stale_connections: int = 0  # idle keep-alive connections found closed when reused (sent again)

    def now(self) -> float:
        return time.monotonic() - self.began


class ConnectionLost(Exception):
    """The connection broke before a whole answer came back (reset, refused, closed early, timed out)."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One visitor's keep-alive HTTP/1.1 connection to the gateway: just enough of HTTP for these requests.

    httpx cost the load generator about 0.7 ms of CPU a request here; with 1,500 visitors in one process on
    the same two cores as the platform, that was most of what got measured. This costs a fraction of it.
    """

    def __init__(self, host: str, port: int, run: Run) -> None:
        self.host, self.port, self.run = host, port, run
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 60.0
    ) -> Answer:
        reused = self.writer is not None
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, headers or {}), timeout)
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
            self.close()
            if reused and isinstance(exc, asyncio.IncompleteReadError) and not exc.partial:
                # the gateway closed this idle connection as it was reused (HTTP/1.1's keep-alive race) before
                # reading a byte of it: a browser sends again on a new connection, and so does this
                self.run.stale_connections += 1
                return await self.request(method, path, body=body, headers=headers, timeout=timeout)
            raise ConnectionLost(type(exc).__name__) from exc

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode("utf-8") + b"\r\n" + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        found: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                found[name.strip().lower()] = value.strip()
        if "content-length" in found:
            content = await self.reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            content = b"".join(parts)
        else:
            content = await self.reader.read()
            found["connection"] = "close"
        if found.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, found, content)


def multipart(fields: dict[str, str], filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body of some fields and one file, and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    body = "".join(parts).encode("utf-8") + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Visitor:
    """One person at the portal: its own connection, and the waiting room's way of waiting when told to."""

    def __init__(self, browser: Browser, run: Run, until: float) -> None:
        self.browser = browser
        self.run = run
        self.until = until

    async def step(
        self,
        name: str,
        expected: int,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        patient: bool = False,
    ) -> Answer | None:
        """The answer once served as expected, else None. A shed request waits out its Retry-After and is sent
        again; a `patient` step (a submit, with its Idempotency-Key) is also sent again when its answer was lost,
        and keeps trying up to a minute past the level's end, as a citizen would."""
        deadline = self.until + (60 if patient else 0)
        while time.monotonic() < deadline:
            began = time.monotonic()
            at = self.run.now()
            try:
                answer = await self.browser.request(method, path, body=body, headers=headers)
            except ConnectionLost as exc:
                self.run.samples.append(Sample(at, time.monotonic() - began, name, f"error:{exc}"))
                if not patient:
                    return None
                await asyncio.sleep(1.0)
                continue
            seconds = time.monotonic() - began
            retry_after = answer.headers.get("retry-after", "")
            if answer.status == 503 and retry_after.isdigit() and b"service-busy" in answer.body:
                self.run.samples.append(Sample(at, seconds, name, "shed"))
                await asyncio.sleep(int(retry_after) * random.uniform(1.0, 1.5))
                continue
            if answer.status != expected:
                self.run.samples.append(Sample(at, seconds, name, f"error:{answer.status}"))
                return None
            self.run.samples.append(Sample(at, seconds, name, "served"))
            return answer
        return None

    async def search(self) -> None:
        query = urlencode({"q": random.choice(QUERIES)})
        await self.step("search", 200, "GET", f"/v1/procedures?{query}")
        await self.step("procedure", 200, "GET", f"/v1/procedures/{random.choice(PROCEDURES)}")

    async def sign_in(self, username: str) -> None:
        body = json.dumps({"username": username, "password": PASSWORD}).encode()
        await self.step("sign_in", 200, "POST", "/v1/auth/login", body=body, headers=JSON)

    async def file(self, auth: dict[str, str]) -> None:
        draft = await self.step(
            "draft",
            201,
            "POST",
            "/v1/applications",
            headers={**auth, **JSON},
            body=json.dumps({"procedure_code": "HT-KS-01"}).encode(),
        )
        if draft is None:
            return
        application_id = draft.json()["id"]
        app = f"/v1/applications/{application_id}"
        patch = {**auth, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"}
        if (
            await self.step("autosave", 200, "PATCH", app, body=json.dumps({"data": FORM}).encode(), headers=patch)
            is None
        ):
            return
        form, content_type = multipart(
            {"document_key": "birth_certificate_medical"}, "giay-chung-sinh.pdf", PDF, "application/pdf"
        )
        if (
            await self.step(
                "upload", 201, "POST", f"{app}/documents", body=form, headers={**auth, "Content-Type": content_type}
            )
            is None
        ):
            return
        key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        submitted = await self.step("submit", 200, "POST", f"{app}/submit", headers=key, patient=True)
        if submitted is None:
            self.run.unanswered_submits += 1
        else:
            self.run.accepted[submitted.json()["tracking_code"]] = application_id


async def visit(kind: str, base_url: str, run: Run, until: float, account: tuple[str, dict[str, str]]) -> None:
    await asyncio.sleep(random.uniform(0, 1.0))  # a crowd arrives within a second
    where = urlsplit(base_url)
    browser = Browser(where.hostname or "127.0.0.1", where.port or 80, run)
    visitor = Visitor(browser, run, until)
    try:
        while time.monotonic() < until:
            if kind == "search":
                await visitor.search()
            elif kind == "sign_in":
                await visitor.sign_in(account[0])
            else:
                await visitor.file(account[1])
    finally:
        browser.close()


def kinds(n: int) -> list[str]:
    found = [kind for kind, share in MIX for _ in range(round(n * share))]
    return (found + ["search"] * n)[:n]


def level_summary(
    run: Run, visitors: int, began: float, seconds: float, cpu: dict[str, float], limits: dict[str, float]
) -> dict[str, Any]:
    mine = [s for s in run.samples if began <= s.at < began + seconds]
    served = [s.seconds for s in mine if s.outcome == "served"]
    shed = [s.seconds for s in mine if s.outcome == "shed"]
    errors = Counter(s.outcome.removeprefix("error:") for s in mine if s.outcome.startswith("error:"))
    return {
        "visitors": visitors,
        "served_per_second": round(len(served) / seconds, 1),
        "served": len(served),
        "admitted_ms": {"p50": round(pct(served, 0.5) * 1000, 1), "p99": round(pct(served, 0.99) * 1000, 1)},
        "shed": len(shed),
        "shed_share": round(len(shed) / max(1, len(shed) + len(served)), 3),
        "shed_answer_ms": {"p50": round(pct(shed, 0.5) * 1000, 1), "p99": round(pct(shed, 0.99) * 1000, 1)},
        "errors": dict(errors),
        "served_by_step": dict(Counter(s.step for s in mine if s.outcome == "served")),
        "shed_by_step": dict(Counter(s.step for s in mine if s.outcome == "shed")),
        "errors_by_step": dict(
            Counter(f"{s.step}: {s.outcome.removeprefix('error:')}" for s in mine if s.outcome.startswith("error:"))
        ),
        "cpu_percent": cpu,
        "gateway_limits_at_end": limits,
    }


async def gateway_limits(http: httpx.AsyncClient) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("gateway_admission_limit{"):
            found[line.split('"')[1]] = round(float(line.rsplit(" ", 1)[1]), 1)
    return found


async def check_submissions(run: Run, smtp: SmtpCapture, mongodb_uri: str) -> dict[str, Any]:
    """Every accepted submission once in the database and once in the mail."""
    codes = list(run.accepted)
    for _ in range(1200):  # the emails still on their way
        if set(codes) <= Emails.of(smtp).received_at.keys():
            break
        await asyncio.sleep(0.1)
    emails = Emails.of(smtp)
    client = mongo.connect(mongodb_uri)
    try:
        stored: Counter[str] = Counter()
        async for doc in client["motcua_submission"]["applications"].find(
            {"tracking_code": {"$in": codes}}, {"tracking_code": 1, "status": 1}
        ):
            stored[doc["tracking_code"]] += 1 if doc.get("status") == "submitted" else 0
    finally:
        await client.close()
    return {
        "accepted": len(codes),
        "not_in_database": sum(1 for c in codes if stored[c] == 0),
        "in_database_twice": sum(1 for c in codes if stored[c] > 1),
        "emails_missing": sum(1 for c in codes if c not in emails.received_at),
        "emails_repeated": emails.repeats,
        "submits_never_answered": run.unanswered_submits,
    }


def plot(run: Run, levels: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = int(max(s.at for s in run.samples)) + 1
    seconds = list(range(end))
    per: dict[int, list[Sample]] = {}
    for s in run.samples:
        per.setdefault(int(s.at), []).append(s)

    def series(outcome: str) -> list[int]:
        return [sum(1 for s in per.get(t, []) if s.outcome.startswith(outcome)) for t in seconds]

    def quantile(outcome: str, q: float) -> list[float]:
        return [pct([s.seconds for s in per.get(t, []) if s.outcome == outcome], q) * 1000 for t in seconds]

    figure, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(10, 9))
    top.plot(seconds, series("served"), label="served / s", color="tab:blue")
    top.plot(seconds, series("shed"), label="shed (503 + Retry-After) / s", color="tab:orange")
    top.plot(seconds, series("error"), label="errors / s", color="tab:red")
    top.set_ylabel("requests / s")
    top.set_title("Mot Cua under a surge: visitors through the gateway (by when each request was sent)")
    top.legend(loc="upper left")
    middle.plot(seconds, quantile("served", 0.5), label="admitted p50")
    middle.plot(seconds, quantile("served", 0.99), label="admitted p99")
    middle.set_yscale("log")
    middle.set_ylabel("ms")
    middle.legend(loc="upper left")
    bottom.plot(seconds, quantile("shed", 0.5), label="shed answered p50", color="tab:orange")
    bottom.plot(seconds, quantile("shed", 0.99), label="shed answered p99", color="tab:brown")
    bottom.set_yscale("log")
    bottom.set_ylabel("ms")
    bottom.set_xlabel("seconds into the run")
    bottom.legend(loc="upper left")
    for level in levels:
        for axis in (top, middle, bottom):
            axis.axvspan(level["began"], level["began"] + level["seconds"], alpha=0.06, color="gray")
        top.annotate(f"{level['visitors']:,} visitors", (level["began"] + 0.5, top.get_ylim()[1] * 0.9), fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(result: dict[str, Any]) -> str:
    rows = [
        "| visitors | served req/s | admitted p50 / p99 | shed | shed answered p50 / p99 | errors |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for lv in result["levels"]:
        errors = ", ".join(f"{n} × {what}" for what, n in sorted(lv["errors"].items())) or "none"
        rows.append(
            f"| {lv['visitors']:,} | {lv['served_per_second']:,} | {lv['admitted_ms']['p50']:,.0f} ms / "
            f"{lv['admitted_ms']['p99']:,.0f} ms | {lv['shed_share'] * 100:.0f} % | "
            f"{lv['shed_answer_ms']['p50']:,.1f} ms / {lv['shed_answer_ms']['p99']:,.1f} ms | {errors} |"
        )
    s = result["submissions"]
    rows += [
        "",
        f"Submissions: {s['accepted']} accepted; {s['not_in_database']} not in the database, "
        f"{s['in_database_twice']} twice; {s['emails_missing']} without their email, "
        f"{s['emails_repeated']} emails repeated; {s['submits_never_answered']} submits never answered.",
        "",
        f"Machine: {result['machine']}; {result['seconds']} s per level.",
    ]
    return "\n".join(rows) + "\n"


async def run_levels(levels: list[int], seconds: float, citizens: int) -> dict[str, Any]:
    smtp, sms = SmtpCapture(), SmsEndpoint()
    smtp.start()
    sms.start()
    var = Path(tempfile.mkdtemp(prefix="motcua-bench-surge-"))
    overrides = {
        **SURGE_OVERRIDES,
        **smtp.settings,
        **sms.settings,
    }
    print(f"starting the platform under {var} …", flush=True)
    platform = await asyncio.to_thread(devservers.start_platform, var, overrides, free_ports=True)
    base = platform.url("gateway")
    run = Run()
    summaries: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as gateway:
            print(f"preparing {citizens} citizens through the API …", flush=True)
            gate = asyncio.Semaphore(8)

            async def prepared() -> tuple[str, dict[str, str]]:
                async with gate:
                    return await prepare_citizen(gateway, smtp, sms)

            people = [await prepare_citizen(gateway, smtp, sms)]  # the first alone: it opens identity's counters
            people += await asyncio.gather(*(prepared() for _ in range(citizens - 1)))
            processes = {
                name: psutil.Process(p.pid)
                for name, p in {**platform.services, **platform.servers}.items()
                if p.pid is not None and name != "smtp"
            }
            processes["bench (load + SMTP)"] = psutil.Process()
            run = Run()
            for visitors in levels:
                await asyncio.sleep(5)  # the platform idle again between levels
                samples: dict[str, list[tuple[float, float]]] = {}
                stop = threading.Event()
                sampler = threading.Thread(target=sample_processes, args=(processes, samples, stop), daemon=True)
                sampler.start()
                began = run.now()
                until = time.monotonic() + seconds
                print(f"{visitors:,} visitors for {seconds:.0f} s …", flush=True)
                crowd = [
                    visit(kind, base, run, until, people[i % len(people)]) for i, kind in enumerate(kinds(visitors))
                ]
                await asyncio.gather(*crowd)
                stop.set()
                cpu = {name: round(statistics.mean(c for c, _ in s), 1) for name, s in samples.items() if s}
                summary = level_summary(run, visitors, began, seconds, cpu, await gateway_limits(gateway))
                summary["began"], summary["seconds"] = round(began, 1), seconds
                summaries.append(summary)
                print(
                    json.dumps(
                        {
                            k: summary[k]
                            for k in ("served_per_second", "admitted_ms", "shed_share", "shed_answer_ms", "errors")
                        }
                    ),
                    flush=True,
                )
            print("checking every accepted submission …", flush=True)
            submissions = await check_submissions(run, smtp, platform.env["MONGODB_URI"])
    finally:
        await asyncio.to_thread(platform.stop)
        smtp.stop()
        sms.stop()
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.node()}: {psutil.cpu_count()} CPU ({host.processor() or host.machine()}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {host.system()} {host.release()}, "
        f"Python {host.python_version()}, load average before the run {psutil.getloadavg()[0]:.1f}",
        "seconds": seconds,
        "mix": dict(MIX),
        "levels": summaries,
        "submissions": submissions,
        "stale_keepalive_connections_sent_again": run.stale_connections,
    }
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"surge-{stamp}.json").write_text(json.dumps(result, indent=1))
    (OUT / f"surge-{stamp}.md").write_text(markdown(result))
    plot(run, summaries, OUT / f"surge-{stamp}.png")
    print(f"written: bench-out/surge-{stamp}.json, .md, .png")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--levels", default="50,400,1500", help="visitors per level, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each level lasts")
    parser.add_argument("--citizens", type=int, default=40, help="accounts prepared for sign-ins and filing")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    result = uvloop.run(run_levels(levels, args.seconds, args.citizens))
    print(markdown(result))


if __name__ == "__main__":
    main()
