"""The whole platform under pressure: started as `make run` starts it, once per test module.

Five service processes and the local MongoDB- and Kafka-protocol servers come from
`motcua.devtools.devservers.start_platform`; the test runs the SMTP server and the SMS provider's
webhook of `motcua.devtools.testing_messages` (SMS_PROVIDER=webhook), each in its own thread so they
keep answering while the test blocks on a restart.

Citizens are prepared through the real API only: register → the link in the email and the code in
the SMS → verify both → sign in. The `Pressure` object hands tests what they need: accounts of each
role, a crowd of citizens submitting dossiers, the dossier they fill in (`pressure.dossier`),
readiness waits and the submission database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from motcua.common import mongo
from motcua.devtools import devservers, staff
from motcua.devtools.testing import BIRTH_REGISTRATION, SampleDossier, eventually, running_platform
from motcua.devtools.testing_messages import Mail, SmsEndpoint, SmtpCapture

ADMIN_EMAIL = "quantri.apluc@motcua.example.vn"
ADMIN_PASSWORD = "Quản-trị-Kiểm-thử-Áp-lực-2026"
PASSWORD = "Sông Hồng chảy qua bốn mùa 2026"
SERVICES = ("identity", "catalogue", "submission", "notification", "webhooks", "gateway")

# Every limit a single test address would trip is raised: all traffic here comes from 127.0.0.1.
# Hashing is made cheap so preparing accounts is quick; nothing measured depends on it.
OVERRIDES = {
    # a killed notification's never-tried deliveries are due again once their lease runs out
    "SMTP_TIMEOUT_SECONDS": "5",
    "DELIVERY_LEASE_SECONDS": "45",
    "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
    "GATEWAY_RATE_LIMIT_BURST": "100000",
    "IDENTITY_REGISTRATIONS_PER_IP_PER_HOUR": "100000",
    "IDENTITY_RESETS_PER_IP_PER_HOUR": "100000",
    "IDENTITY_IP_LOCKOUT_THRESHOLD": "100000",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_TIME_COST": "1",
    "DRAFT_LIMIT": "100000",
    "UPLOAD_LIMIT": "100000",
    "LOOKUP_LIMIT": "100000",
    "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
    "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
    "LOG_LEVEL": "INFO",
}


class Mailbox(SmtpCapture):
    """The run's SMTP server, which also knows a dossier's ApplicationReceived email by its subject."""

    def received(self, tracking_code: str) -> list[Mail]:
        """The ApplicationReceived emails of one dossier (Vietnamese or English subject)."""
        return self.with_subject(f"Đã nộp hồ sơ {tracking_code} ", f"Application {tracking_code} submitted")


@dataclass
class Person:
    """A signed-in account: its id, contact details and access token."""

    account_id: str
    email: str
    phone: str
    roles: tuple[str, ...]
    access_token: str
    agency: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def random_digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def expect(answer: httpx.Response, status: int) -> Any:
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url.path}: {answer.text[:500]}"
    return answer.json() if answer.content else None


@dataclass
class Pressure:
    """The running platform, what it sent, and ways to drive it."""

    platform: devservers.Platform
    mailbox: Mailbox
    sms: SmsEndpoint
    var: Path
    dossier: SampleDossier = BIRTH_REGISTRATION

    @property
    def gateway(self) -> str:
        return self.platform.url("gateway")

    def client(self, timeout: float = 20.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateway, timeout=timeout)

    async def until(self, check: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
        return await eventually(check, timeout=timeout, interval=0.2)

    async def citizen(self, client: httpx.AsyncClient) -> Person:
        """A new individual account, activated by the link and code the platform sent, signed in."""
        person = {
            "account_type": "individual",
            "full_name": "Nguyễn Văn Bình",
            "email": f"binh.{uuid.uuid4().hex[:10]}@example.vn",
            "phone": "091" + random_digits(7),
            "password": PASSWORD,
            "locale": "vi",
            "national_id": "001190" + random_digits(6),
        }
        account = expect(await client.post("/v1/accounts", json=person), 201)
        phone = account["phone"]
        token = await self.mailbox.find(person["email"], r"/verify-email\?token=([^\s\"'<>]+)")
        expect(await client.post("/v1/accounts/verify-email", json={"token": unquote(token)}), 200)
        verified = {"account_id": account["id"], "code": await self.sms.find(phone, r"\b(\d{6})\b")}
        assert expect(await client.post("/v1/accounts/verify-phone", json=verified), 200)["status"] == "active"
        tokens = await self.sign_in(client, person["email"], PASSWORD)
        return Person(account["id"], person["email"], phone, ("citizen",), tokens)

    async def citizens(self, client: httpx.AsyncClient, n: int) -> list[Person]:
        # The first alone: identity answers 500 when two registrations from one address race to open
        # its hourly counter (reported; test_regressions.py keeps it), and these are all from 127.0.0.1.
        first = await self.citizen(client)
        return [first, *await asyncio.gather(*(self.citizen(client) for _ in range(n - 1)))]

    def crowd(self, people: list[Person], **options: Any) -> Crowd:
        return Crowd(self, people, **options)

    async def sign_in(self, client: httpx.AsyncClient, username: str, password: str) -> str:
        tokens = expect(await client.post("/v1/auth/login", json={"username": username, "password": password}), 200)
        return str(tokens["access_token"])

    async def staff_sign_in(self, client: httpx.AsyncClient, username: str, password: str) -> str:
        """Officers and admins must have a second factor: the shared helper enrols TOTP at the first sign-in."""
        return str((await staff.sign_in(client, username, password))["access_token"])

    async def admin(self, client: httpx.AsyncClient) -> Person:
        token = await staff.access_token(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        me = expect(await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"}), 200)
        return Person(me["id"], ADMIN_EMAIL, me.get("phone", ""), ("admin",), token)

    async def officer(self, client: httpx.AsyncClient, admin: Person, agency: str) -> Person:
        """An officer of `agency`, created by the admin (active at once) and signed in."""
        officer = {
            "full_name": "Lê Thị Cán Bộ",
            "email": f"canbo.{uuid.uuid4().hex[:10]}@ubnd.example.vn",
            "phone": "098" + random_digits(7),
            "password": "Một cửa phường Hoàn Kiếm tiếp dân 2026",
            "agency_code": agency,
        }
        created = expect(await client.post("/v1/admin/officers", json=officer, headers=admin.headers), 201)
        token = await self.staff_sign_in(client, officer["email"], officer["password"])
        return Person(created["id"], officer["email"], created.get("phone", ""), ("officer",), token, agency)

    async def ready(self, name: str) -> bool:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                return (await client.get(f"{self.platform.url(name)}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def all_ready(self, timeout: float = 90.0) -> None:
        """Every service's own /readyz and the gateway's answer 200."""

        async def check() -> bool:
            return all(await asyncio.gather(*(self.ready(name) for name in SERVICES)))

        await self.until(check, timeout=timeout)

    async def email_deliveries(self, tracking_codes: list[str]) -> dict[str, str]:
        """tracking code → the status of its ApplicationReceived email's delivery (to say why one is missing)."""
        client = mongo.connect(self.platform.env["MONGODB_URI"])
        try:
            found = client["motcua_notification"]["deliveries"].find(
                {"tracking_code": {"$in": tracking_codes}, "channel": "email"},
                {"tracking_code": 1, "status": 1, "handed_over_at": 1, "reason": 1},
            )
            return {
                doc["tracking_code"]: f"{doc['status']}, handed over: {'handed_over_at' in doc}, {doc.get('reason')}"
                async for doc in found
            }
        finally:
            await client.close()

    async def stored(self, tracking_codes: list[str]) -> dict[str, str]:
        """tracking code → status, for the dossiers the submission database holds."""
        client = mongo.connect(self.platform.env["MONGODB_URI"])
        try:
            found = client["motcua_submission"]["applications"].find(
                {"tracking_code": {"$in": tracking_codes}}, {"tracking_code": 1, "status": 1}
            )
            return {doc["tracking_code"]: doc["status"] async for doc in found}
        finally:
            await client.close()


@dataclass
class Outcome:
    """One request of the crowd: which step, what came back, when, and how long it took."""

    step: str
    status: int | None
    began: float
    seconds: float
    content_type: str = ""
    body: str = ""
    error: str = ""


@dataclass
class Crowd:
    """Citizens each submitting dossier after dossier (draft → autosave → upload → submit) until stopped."""

    pressure: Pressure
    people: list[Person]
    pause: float = 0.05
    timeout: float = 20.0
    outcomes: list[Outcome] = field(default_factory=list)
    accepted: dict[str, Person] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.stopping.clear()
        self.tasks = [asyncio.create_task(self._citizen(p)) for p in self.people]

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)

    def since(self, moment: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.began >= moment]

    async def _call(self, client: httpx.AsyncClient, step: str, method: str, url: str, **kw: Any) -> Any:
        began = time.monotonic()
        try:
            answer = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.outcomes.append(Outcome(step, None, began, time.monotonic() - began, error=repr(exc)))
            return None
        self.outcomes.append(
            Outcome(
                step,
                answer.status_code,
                began,
                time.monotonic() - began,
                answer.headers.get("content-type", ""),
                answer.text[:300],
            )
        )
        return answer

    async def _dossier(self, client: httpx.AsyncClient, person: Person) -> None:
        auth, dossier = person.headers, self.pressure.dossier
        draft = await self._call(
            client, "draft", "POST", "/v1/applications", json={"procedure_code": dossier.procedure}, headers=auth
        )
        if draft is None or draft.status_code != 201:
            return
        app_id = draft.json()["id"]
        patch_headers = {**auth, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"}
        saved = await self._call(
            client,
            "autosave",
            "PATCH",
            f"/v1/applications/{app_id}",
            content=json.dumps({"data": dossier.form}),
            headers=patch_headers,
        )
        if saved is None or saved.status_code != 200:
            return
        uploaded = await self._call(
            client,
            "upload",
            "POST",
            f"/v1/applications/{app_id}/documents",
            headers=auth,
            data={"document_key": dossier.document_key},
            files={"file": ("giay-chung-sinh.pdf", dossier.pdf, "application/pdf")},
        )
        if uploaded is None or uploaded.status_code != 201:
            return
        key = {"Idempotency-Key": uuid.uuid4().hex}
        # A submit that got no clear answer is retried with the same key, as a careful client does.
        for _ in range(3):
            submitted = await self._call(
                client, "submit", "POST", f"/v1/applications/{app_id}/submit", headers={**auth, **key}
            )
            if submitted is not None and submitted.status_code == 200:
                self.accepted[submitted.json()["tracking_code"]] = person
                return
            if submitted is not None and submitted.status_code < 500:
                return
            await asyncio.sleep(0.5)

    async def _citizen(self, person: Person) -> None:
        async with self.pressure.client(self.timeout) as client:
            while not self.stopping.is_set():
                await self._dossier(client, person)
                await asyncio.sleep(self.pause)


@pytest.fixture(scope="session")
async def pressure(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pressure]:
    """The platform as `make run` starts it, on free ports, with an SMTP server and an SMS endpoint of ours."""
    with Mailbox() as mailbox, SmsEndpoint() as sms:
        var = tmp_path_factory.mktemp("pressure") / "var"
        overrides = {
            **OVERRIDES,
            **mailbox.settings,
            **sms.settings,
            "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        async with running_platform(var, overrides) as running:
            yield Pressure(running, mailbox, sms, var)
