"""Who may do what: every route of every service × six callers, through the gateway, against the rows below.

The routes come from each running service's OpenAPI document, so a route added without a row here
fails `test_every_route_has_a_row`. Callers: anonymous, citizen A (who owns the dossiers), citizen
B, an officer of the agency of A's procedure, an officer of another agency, and the admin. A cell is
the status that caller must get (or the statuses it may get, when the answer depends on state, not
on who asks); within a row, A goes last, so what A changes does not decide the others' answers.
A seventh caller carries a well-formed token with every role, signed by a key identity never
published: it must get what the anonymous caller gets.

The rules the cells encode (CONTRACT.md): no token on a signed-in route is 401; a role that is not
allowed is 403; someone else's dossier, document or notification is 404, never 403.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from motcua.devtools.testing import TokenMinter

if TYPE_CHECKING:
    from motcua.devtools.testing import SampleDossier

    from tests.pressure.conftest import Person, Pressure

CALLERS = ("anonymous", "forged", "citizen_b", "officer", "other_officer", "admin", "citizen_a")
SERVICES = ("identity", "catalogue", "submission", "notification", "webhooks")
# Each service's own probes are not routed by the gateway; the gateway answers them for itself.
NOT_ROUTED = {"/healthz", "/readyz", "/metrics"}
Cell = int | tuple[int, ...]


def cells(anonymous: Cell, a: Cell, b: Cell, officer: Cell, other_officer: Cell, admin: Cell) -> dict[str, Cell]:
    """A token identity did not sign (`forged`) must be treated exactly as no token at all."""
    return {
        "anonymous": anonymous,
        "forged": anonymous,
        "citizen_a": a,
        "citizen_b": b,
        "officer": officer,
        "other_officer": other_officer,
        "admin": admin,
    }


def everyone(status: Cell) -> dict[str, Cell]:
    return cells(status, status, status, status, status, status)


def signed_in(status: Cell) -> dict[str, Cell]:
    return cells(401, status, status, status, status, status)


def admin_only(status: Cell) -> dict[str, Cell]:
    return cells(401, 403, 403, 403, 403, status)


def owner_only(status: Cell) -> dict[str, Cell]:
    return cells(401, status, 404, 404, 404, 404)


@dataclass(frozen=True)
class Row:
    """One route: how to call it (path parameters name things of the world) and the expected cells."""

    method: str
    path: str
    expect: dict[str, Cell]
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    upload: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    if_match: bool = False  # send the dossier's current ETag, as the owner's browser would
    unique_username: bool = False  # a username of its own per call, so no lockout carries over
    query: dict[str, str] = field(default_factory=dict)


MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
# Webhooks: an admin, or an officer with `approver` among the token's agency_roles. The world's webhooks are
# platform-wide (the admin's), so an approver sees neither (404); an officer whose token carries no
# agency_roles is no approver (403). Both cells are allowed for the officers until identity issues agency_roles.
WEBHOOK = {"webhook_id": "webhook"}


def webhook_admin(status: Cell, officer: Cell = (403, 404)) -> dict[str, Cell]:
    return cells(401, 403, 403, officer, officer, status)


ROWS: tuple[Row, ...] = (
    # identity
    Row("POST", "/v1/accounts", everyone(422), body={}),
    Row("POST", "/v1/accounts/verify-email", everyone((400, 404, 410, 422)), body={"token": "khong-co-that"}),
    Row("POST", "/v1/accounts/verify-phone", everyone(404), body={"account_id": "khong-co", "code": "123456"}),
    Row("POST", "/v1/accounts/resend-verification", everyone(404), body={"account_id": "khong-co", "channel": "sms"}),
    Row("GET", "/v1/accounts/me", signed_in(200)),
    Row("POST", "/v1/accounts/me/password", signed_in(422), body={}),  # an empty body: no password is tried
    # with an access token, enrolling, removing a factor and new recovery codes need the password: none sent, 422
    Row("POST", "/v1/accounts/me/mfa/totp", signed_in(422)),
    Row("POST", "/v1/accounts/me/mfa/totp/confirm", signed_in((400, 409, 422)), body={"code": "000000"}),
    Row("POST", "/v1/accounts/me/mfa/totp/remove", signed_in(422), body={}),
    Row("POST", "/v1/accounts/me/mfa/recovery-codes", signed_in(422), body={}),
    Row("GET", "/v1/accounts/me/mfa/webauthn", signed_in(200)),
    Row("POST", "/v1/accounts/me/mfa/webauthn/register/options", signed_in(422)),
    Row(
        "POST",
        "/v1/accounts/me/mfa/webauthn/register/verify",
        signed_in(422),
        body={"ceremony_id": "khong-co-that", "credential": {}},
    ),
    Row(
        "POST",
        "/v1/accounts/me/mfa/webauthn/{passkey_id}/remove",
        signed_in(422),
        params={"passkey_id": "no_passkey"},
        body={},
    ),
    Row("POST", "/v1/auth/webauthn/options", everyone(200), body={}),
    Row(
        "POST",
        "/v1/auth/webauthn/verify",
        everyone(401),
        body={"ceremony_id": "khong-co-that", "credential": {"id": "khong-co-that"}},
    ),
    Row(
        "POST",
        "/v1/auth/login",
        everyone(401),
        body={"username": "khong.co@example.vn", "password": "sai mật khẩu"},
        unique_username=True,
    ),
    Row("POST", "/v1/auth/mfa", everyone(401), body={"mfa_token": "khong-co-that", "code": "000000"}),
    Row("POST", "/v1/auth/refresh", everyone(401), body={"refresh_token": "khong-co-that"}),
    Row("POST", "/v1/auth/logout", signed_in(404), body={"refresh_token": "khong-co-that"}),
    Row("POST", "/v1/auth/password-reset", everyone(202), body={"email": "khong.co@example.vn"}),
    Row(
        "POST",
        "/v1/auth/password-reset/confirm",
        everyone((400, 404, 410, 422)),
        body={"token": "khong-co-that", "new_password": "Sông Hồng chảy qua bốn mùa 2026"},
    ),
    Row("POST", "/v1/admin/officers", admin_only(422), body={}),
    Row("GET", "/v1/admin/officers", admin_only(200)),
    Row(  # nobody of that id: refused alike to the admin and any agency's officer (who may be its lead)
        "PUT",
        "/v1/admin/officers/{account_id}/roles",
        cells(401, 403, 403, 404, 404, 404),
        params={"account_id": "no_officer"},
        body={"roles": ["intake"]},
    ),
    *(
        Row(method, path, cells(401, 403, 403, 404, 404, 404), params={"account_id": "no_officer"})
        for method, path in (
            ("POST", "/v1/admin/officers/{account_id}/disable"),
            ("POST", "/v1/admin/officers/{account_id}/enable"),
        )
    ),
    Row("GET", "/.well-known/jwks.json", everyone(200)),
    Row("GET", "/.well-known/openid-configuration", everyone(200)),
    # catalogue
    Row("GET", "/v1/agencies", everyone(200)),
    Row("GET", "/v1/procedures", everyone(200)),
    Row("POST", "/v1/procedures", admin_only(422), body={}),
    Row("GET", "/v1/procedures/{code}", everyone(200), params={"code": "procedure"}),
    Row("GET", "/v1/procedures/{code}/versions", everyone(200), params={"code": "procedure"}),
    Row(
        "GET",
        "/v1/procedures/{code}/versions/{number}",
        everyone(200),
        params={"code": "procedure", "number": "version"},
    ),
    Row("GET", "/v1/procedures/{code}/draft", admin_only(404), params={"code": "no_procedure"}),
    Row("PUT", "/v1/procedures/{code}/draft", admin_only(422), params={"code": "no_procedure"}, body={}),
    Row("POST", "/v1/procedures/{code}/publish", admin_only(404), params={"code": "no_procedure"}),
    Row("POST", "/v1/procedures/{code}/retire", admin_only(404), params={"code": "no_procedure"}),
    # submission: S is A's submitted dossier, D A's draft
    Row("POST", "/v1/applications", cells(401, 201, 201, 403, 403, 403), body={"procedure_code": "HT-KS-01"}),
    Row("GET", "/v1/applications", cells(401, 200, 200, 403, 403, 403)),
    Row(
        "GET", "/v1/applications/{application_id}", cells(401, 200, 404, 200, 404, 404), params={"application_id": "S"}
    ),
    Row(
        "PATCH",
        "/v1/applications/{application_id}",
        owner_only(200),
        params={"application_id": "D"},
        body={"data": {"child_sex": "female"}},
        headers=MERGE_PATCH,
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/documents",
        owner_only(201),
        params={"application_id": "D"},
        upload=True,
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/documents/{document_id}",
        cells(401, 200, 404, 200, 404, 404),
        params={"application_id": "S", "document_id": "S_document"},
    ),
    Row(
        "DELETE",
        "/v1/applications/{application_id}/documents/{document_id}",
        owner_only(204),
        params={"application_id": "D", "document_id": "D_spare_document"},
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/submit",
        owner_only(200),
        params={"application_id": "D"},
        headers={"Idempotency-Key": "ma-tran-quyen-nop"},
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/resubmit",
        owner_only(409),
        params={"application_id": "S"},
        body={"comment": "Bổ sung"},
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/withdraw",
        owner_only(200),
        params={"application_id": "D"},
        body={"comment": "Rút hồ sơ"},
    ),
    Row("GET", "/v1/lookup/{tracking_code}", everyone(200), params={"tracking_code": "S_tracking_code"}),
    Row("GET", "/v1/agency/applications", cells(401, 403, 403, 200, 200, 403)),
    Row(
        "POST",
        "/v1/agency/applications/{application_id}/actions",
        cells(401, 403, 403, 409, 404, 403),
        params={"application_id": "S"},
        body={"action": "approve", "comment": "Duyệt"},
    ),
    Row(
        "POST",
        "/v1/agency/applications/{application_id}/apology",
        cells(401, 403, 403, 422, 404, 403),  # the officer's date is not later than the due date: refused, unchanged
        params={"application_id": "S"},
        body={"reason": "Cần xác minh thêm", "new_due_date": "2020-01-02"},
    ),
    Row("GET", "/v1/agency/inbox", cells(401, 403, 403, 200, 200, 403)),
    Row("GET", "/v1/agency/officers", cells(401, 403, 403, 200, 200, 403)),  # each sees their own agency's
    Row(  # nobody of that id in the directory: refused, unassigned (and another agency learns nothing)
        "POST",
        "/v1/agency/applications/{application_id}/assign",
        cells(401, 403, 403, 422, 404, 403),
        params={"application_id": "S"},
        body={"assignee_id": "officer-nobody"},
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/slips",
        cells(401, 200, 404, 200, 404, 404),
        params={"application_id": "S"},
    ),
    Row(  # S is not accepted yet: it has no slip, for anyone (and the others do not learn it exists)
        "GET",
        "/v1/applications/{application_id}/slips/{slip_id}",
        cells(401, 404, 404, 404, 404, 404),
        params={"application_id": "S", "slip_id": "S_receipt"},
    ),
    # accountability (issue 19): S is not finished, so even its owner is refused (409); the index is public
    Row(
        "POST",
        "/v1/applications/{application_id}/rating",
        owner_only(409),
        params={"application_id": "S"},
        body={"guidance": 5, "timeliness": 5, "courtesy": 5},
    ),
    Row("GET", "/v1/applications/{application_id}/rating", owner_only(404), params={"application_id": "S"}),
    Row("GET", "/v1/public/agencies/{code}/index", everyone(200), params={"code": "agency"}),
    Row("GET", "/v1/public/agencies/{code}/index/months", everyone(200), params={"code": "agency"}),
    Row("GET", "/v1/public/ranking", everyone(200)),
    Row("GET", "/v1/agency/dashboard", cells(401, 403, 403, 200, 200, 403)),
    # submission: result documents, their public verification, the wallet (issue 20); S has no result yet
    Row(
        "GET",
        "/v1/applications/{application_id}/result",
        cells(401, 404, 404, 404, 404, 404),
        params={"application_id": "S"},
    ),
    Row(  # the agency's approver is told S has no result to revoke; the others learn nothing
        "POST",
        "/v1/agency/applications/{application_id}/result/revoke",
        cells(401, 403, 403, (403, 404), 404, 403),
        params={"application_id": "S"},
        body={"reason": "Cấp nhầm"},
    ),
    Row("GET", "/v1/verify/{code}", everyone(404), params={"code": "no_code"}),
    Row("POST", "/v1/verify/{code}", everyone(404), params={"code": "no_code"}),
    Row("GET", "/v1/wallet", cells(401, 200, 200, 403, 403, 403)),
    # fees (issue 21): S's procedure has no fee, so even its owner is told there is nothing to pay (409); the
    # provider's return and IPN are anonymous by nature and judged by their VNPAY signature (IPN: 200 with RspCode 97)
    Row("POST", "/v1/applications/{application_id}/payment", owner_only(409), params={"application_id": "S"}),
    Row("GET", "/v1/payments/vnpay/ipn", everyone(200), query={"vnp_TxnRef": "X", "vnp_SecureHash": "0"}),
    Row("GET", "/v1/payments/vnpay/return", everyone(303), query={"vnp_TxnRef": "X", "vnp_SecureHash": "0"}),
    Row("GET", "/v1/agency/payments/reconciliation", cells(401, 403, 403, 200, 200, 403)),
    # notification
    Row("GET", "/v1/notifications", signed_in(200)),
    Row("POST", "/v1/notifications/{notification_id}/read", owner_only(200), params={"notification_id": "note"}),
    # webhooks
    Row("POST", "/v1/webhooks", webhook_admin(422, officer=(403, 422)), body={}),
    Row("GET", "/v1/webhooks", webhook_admin(200, officer=(403, 200))),
    Row("GET", "/v1/webhooks/{webhook_id}", webhook_admin(200), params=WEBHOOK),
    Row("POST", "/v1/webhooks/{webhook_id}/pause", webhook_admin(200), params=WEBHOOK),
    Row("POST", "/v1/webhooks/{webhook_id}/resume", webhook_admin(200), params=WEBHOOK),
    Row(
        "POST",
        "/v1/webhooks/{webhook_id}/rotate-secret",
        webhook_admin(200),
        params=WEBHOOK,
        query={"overlap_seconds": "0"},
    ),
    Row(
        "POST",
        "/v1/webhooks/{webhook_id}/replay",
        webhook_admin(202),
        params=WEBHOOK,
        query={"since": "2026-01-01T00:00:00Z"},
    ),
    Row("GET", "/v1/webhooks/{webhook_id}/dead-letters", webhook_admin(200), params=WEBHOOK),
    Row("POST", "/v1/webhooks/{webhook_id}/dead-letters/redrive", webhook_admin(200), params=WEBHOOK),
    Row("GET", "/v1/webhooks/{webhook_id}/deliveries", webhook_admin(200), params=WEBHOOK),
    Row("DELETE", "/v1/webhooks/{webhook_id}", webhook_admin(204), params={"webhook_id": "doomed_webhook"}),
)


@dataclass
class World:
    callers: dict[str, Person | None]
    things: dict[str, str]
    sample: SampleDossier  # what A's dossiers are filled with, and what the upload row sends


async def _dossier(
    client: httpx.AsyncClient, owner: Person, documents: int, sample: SampleDossier
) -> tuple[str, list[str]]:
    draft = await client.post("/v1/applications", json={"procedure_code": sample.procedure}, headers=owner.headers)
    assert draft.status_code == 201, draft.text
    app_id = str(draft.json()["id"])
    saved = await client.patch(
        f"/v1/applications/{app_id}",
        content=json.dumps({"data": sample.form}),
        headers={**owner.headers, **MERGE_PATCH, "If-Match": draft.headers["etag"]},
    )
    assert saved.status_code == 200, saved.text
    ids = []
    for key in ("birth_certificate_medical", "marriage_certificate")[:documents]:
        uploaded = await client.post(
            f"/v1/applications/{app_id}/documents",
            headers=owner.headers,
            data={"document_key": key},
            files={"file": ("giay.pdf", sample.pdf, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        ids.append(str(uploaded.json()["id"]))
    return app_id, ids


@pytest.fixture(scope="module")
async def world(pressure: Pressure) -> AsyncIterator[World]:
    async with pressure.client() as client:
        a, b = await pressure.citizens(client, 2)
        admin = await pressure.admin(client)
        procedure = (await client.get("/v1/procedures/HT-KS-01")).json()
        agencies = [x["code"] for x in (await client.get("/v1/agencies")).json()["items"]]
        other_agency = next(code for code in agencies if code != procedure["agency_code"])
        officer, other = await asyncio.gather(
            pressure.officer(client, admin, procedure["agency_code"]), pressure.officer(client, admin, other_agency)
        )
        submitted_id, (s_document, _) = await _dossier(client, a, 2, pressure.dossier)
        answer = await client.post(
            f"/v1/applications/{submitted_id}/submit", headers={**a.headers, "Idempotency-Key": "ma-tran-quyen-s"}
        )
        assert answer.status_code == 200, answer.text
        draft_id, (_, spare) = await _dossier(client, a, 2, pressure.dossier)

        async def notification() -> str | None:
            items = (await client.get("/v1/notifications", headers=a.headers)).json()["items"]
            return str(items[0]["id"]) if items else None

        async def webhook() -> str:
            answer = await client.post(
                "/v1/webhooks",
                headers=admin.headers,
                json={
                    "url": "http://127.0.0.1:9/ma-tran-quyen",
                    "event_types": ["motcua.submission.ApplicationReceived.v1"],
                },
            )
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

        forger = TokenMinter()
        forged = dataclasses.replace(
            a,
            roles=("citizen", "officer", "admin"),
            access_token=forger.mint(
                a.account_id,
                roles=["citizen", "officer", "admin"],
                agency=procedure["agency_code"],
                iss=pressure.gateway,
            ),
        )
        yield World(
            callers={
                "anonymous": None,
                "forged": forged,
                "citizen_a": a,
                "citizen_b": b,
                "officer": officer,
                "other_officer": other,
                "admin": admin,
            },
            things={
                "procedure": "HT-KS-01",
                "agency": procedure["agency_code"],
                "version": str(procedure["version"]),
                "no_procedure": "ZZ-KHONG-CO-01",
                "no_passkey": "khong-co-passkey",
                "no_officer": "khong-co-can-bo",
                "no_code": "0000000000000000",  # a verification code no result has
                "S": submitted_id,
                "S_document": s_document,
                "S_receipt": "receipt-1",  # the slip intake would issue on accepting S
                "S_tracking_code": answer.json()["tracking_code"],
                "D": draft_id,
                "D_spare_document": spare,
                "note": await pressure.until(notification),
                "webhook": await webhook(),
                "doomed_webhook": await webhook(),
            },
            sample=pressure.dossier,
        )


async def _routes(pressure: Pressure) -> set[tuple[str, str]]:
    found = set()
    async with httpx.AsyncClient(timeout=10) as client:
        for service in SERVICES:
            document = (await client.get(f"{pressure.platform.url(service)}/openapi.json")).json()
            for path, item in document["paths"].items():
                if path not in NOT_ROUTED:
                    found |= {(method.upper(), path) for method in item if method != "parameters"}
    return found


async def test_every_route_has_a_row(pressure: Pressure) -> None:
    routes = await _routes(pressure)
    rows = {(r.method, r.path) for r in ROWS}
    assert not routes - rows, f"routes without a row in the authorisation matrix: {sorted(routes - rows)}"
    assert not rows - routes, f"rows for routes no service has: {sorted(rows - routes)}"


async def _call(client: httpx.AsyncClient, row: Row, caller: Person | None, world: World) -> int:
    path = row.path.format(**{name: world.things[key] for name, key in row.params.items()})
    headers = {**row.headers, **(caller.headers if caller else {})}
    if row.if_match:
        owner = world.callers["citizen_a"]
        assert owner is not None
        headers["If-Match"] = (await client.get(path, headers=owner.headers)).headers["etag"]
    body = row.body
    if row.unique_username:
        body = {**body, "username": f"khong.co.{uuid.uuid4().hex[:8]}@example.vn"}
    if row.upload:
        # the required document: the optional one's spare copy is the DELETE row's to remove
        answer = await client.request(
            row.method,
            path,
            headers=headers,
            data={"document_key": world.sample.document_key},
            files={"file": ("giay-chung-sinh.pdf", world.sample.pdf, "application/pdf")},
        )
    elif body is not None:
        content = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
        answer = await client.request(row.method, path, headers=headers, content=content, params=row.query)
    else:
        answer = await client.request(row.method, path, headers=headers, params=row.query)
    return answer.status_code


async def test_each_caller_gets_the_status_its_role_allows(pressure: Pressure, world: World) -> None:
    wrong = []
    async with pressure.client() as client:
        for row in ROWS:
            for caller in CALLERS:
                status = await _call(client, row, world.callers[caller], world)
                expected = row.expect[caller]
                allowed = expected if isinstance(expected, tuple) else (expected,)
                if status not in allowed:
                    wrong.append(f"{row.method} {row.path} as {caller}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)
