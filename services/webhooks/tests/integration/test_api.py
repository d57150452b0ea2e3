"""Who may manage webhooks, what a subscription may ask for, and the addresses deliveries refuse."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from motcua.devtools.testing import eventually

HOOK = "https://hethong.example.vn/motcua/webhooks"


async def test_only_admins_and_their_agencys_approvers_manage_webhooks(kit: Any) -> None:
    async with kit.service() as service:
        body = {"url": HOOK, "event_types": ["motcua.submission.ApplicationReceived.v1"], "agency_code": kit.AGENCY}
        mint = service.minter.headers
        # the address is only checked once the caller may subscribe at all
        for headers, status in [
            ({}, 401),
            (mint(roles=["citizen"]), 403),
            (mint(roles=["officer"], agency=kit.AGENCY), 403),  # no agency_roles claim: not an approver
            (mint(roles=["officer"], agency=kit.AGENCY, agency_roles=["intake", "specialist"]), 403),
            (service.approver(kit.OTHER_AGENCY), 403),  # another agency's approver
        ]:
            answer = await service.http.post("/v1/webhooks", json=body, headers=headers)
            assert answer.status_code == status, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
        ours = await service.subscribe("https://127.0.0.1:8443/ours", headers=service.approver(kit.AGENCY), agency=None)
        assert ours["agency_code"] == kit.AGENCY  # an approver's own agency by default
        everyone = await service.subscribe("https://127.0.0.1:8443/all", agency=None)
        assert everyone["agency_code"] is None
        listed = (await service.http.get("/v1/webhooks", headers=service.approver(kit.AGENCY))).json()["items"]
        assert [w["id"] for w in listed] == [ours["id"]]
        assert all("secret" not in w for w in listed)
        assert {w["id"] for w in (await service.http.get("/v1/webhooks", headers=service.admin())).json()["items"]} == {
            ours["id"],
            everyone["id"],
        }
        other = service.approver(kit.OTHER_AGENCY)
        for method, suffix in [
            ("GET", ""),
            ("DELETE", ""),
            ("POST", "/pause"),
            ("POST", "/rotate-secret"),
            ("GET", "/dead-letters"),
            ("POST", "/dead-letters/redrive"),
            ("GET", "/deliveries"),
        ]:
            for target in (ours["id"], everyone["id"]):  # another agency's, and the platform-wide one
                answer = await service.http.request(method, f"/v1/webhooks/{target}{suffix}", headers=other)
                assert answer.status_code == 404, (method, suffix, answer.text)
        assert (
            await service.http.get(f"/v1/webhooks/{ours['id']}", headers=service.approver(kit.AGENCY))
        ).status_code == 200


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (
            {"url": "http://hethong.example.vn/hook", "event_types": ["motcua.submission.ApplicationReceived.v1"]},
            "/url",
        ),
        (
            {
                "url": "https://user:pw@hethong.example.vn/hook",
                "event_types": ["motcua.submission.ApplicationReceived.v1"],
            },
            "/url",
        ),
        (
            {"url": "https://hethong.example.vn:25/hook", "event_types": ["motcua.submission.ApplicationReceived.v1"]},
            "/url",
        ),
        ({"url": "ftp://hethong.example.vn/", "event_types": ["motcua.submission.ApplicationReceived.v1"]}, "/url"),
        (
            {"url": "https://hethong.example.vn/hook", "event_types": ["motcua.identity.AccountRegistered.v1"]},
            "/event_types/0",
        ),
        ({"url": "https://hethong.example.vn/hook", "event_types": []}, "/event_types"),
        (
            {
                "url": "https://hethong.example.vn/hook",
                "event_types": ["motcua.submission.ApplicationReceived.v1"],
                "agency_code": "khong hop le",
            },
            "/agency_code",
        ),
        (
            {
                "url": "https://hethong.example.vn/hook",
                "event_types": ["motcua.submission.ApplicationReceived.v1"],
                "secret": "whsec_mine",
            },
            "/secret",
        ),
        ({"event_types": ["motcua.submission.ApplicationReceived.v1"]}, "/url"),
    ],
)
async def test_a_bad_subscription_is_refused_naming_the_field(kit: Any, body: dict[str, Any], pointer: str) -> None:
    async with kit.service(webhooks_allowed_ports="443,8443") as service:
        answer = await service.http.post("/v1/webhooks", json=body, headers=service.admin())
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in answer.json()["errors"]]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://10.20.30.40/hook",
        "https://192.168.1.10/hook",
        "https://172.16.0.5/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ],
)
async def test_private_loopback_and_link_local_addresses_are_refused(kit: Any, url: str) -> None:
    async with kit.service(webhooks_allowed_networks="", webhooks_allowed_ports="443") as service:
        answer = await service.http.post(
            "/v1/webhooks",
            json={"url": url, "event_types": ["motcua.submission.ApplicationReceived.v1"]},
            headers=service.admin(),
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == "/url"
    assert "deliveries may not go there" in answer.json()["errors"][0]["message"]


async def test_a_name_that_turns_private_after_subscribing_gets_no_delivery(kit: Any) -> None:
    """The address is checked again at each connection, and the connection goes to the checked address."""
    async with kit.receiving() as receiver:
        receiver.host = "localhost"
        async with kit.service() as service:  # loopback allowed, as for an agency on a private network
            created = await service.subscribe(receiver.url)
        async with kit.service(webhooks_allowed_networks="") as service:  # and then no longer
            await kit.publisher.send(kit.journey()[0])

            async def refused() -> list[dict[str, Any]] | None:
                page = (
                    await service.http.get(f"/v1/webhooks/{created['id']}/deliveries", headers=service.admin())
                ).json()
                found = [a for item in page["items"] for a in item["attempts"]]
                return found or None

            attempts = await eventually(refused, timeout=20)
            await asyncio.sleep(0.5)
    assert attempts[0]["outcome"] == "refused"
    assert "loopback" in attempts[0]["error"]
    assert receiver.log == []


async def test_development_allows_plain_http_and_this_machine(kit: Any) -> None:
    async with kit.service(
        deployment_environment="development", webhooks_allowed_networks="", webhooks_secret_keys=""
    ) as service:
        created = await service.subscribe("http://127.0.0.1:9/hook")
    assert created["url"] == "http://127.0.0.1:9/hook"


async def test_production_refuses_to_start_without_keys_for_the_secrets(kit: Any) -> None:
    with pytest.raises(ValueError, match="WEBHOOKS_SECRET_KEYS"):
        kit.settings(webhooks_secret_keys="")


async def test_the_secret_is_stored_sealed(kit: Any, mongo_client: Any) -> None:
    async with kit.service() as service:
        created = await service.subscribe("https://127.0.0.1:8443/hook")
    doc = await mongo_client[kit.isolation.db_name]["subscriptions"].find_one({"_id": created["id"]})
    assert created["secret"] not in str(doc)
    assert set(doc["keys"][0]["sealed"]) == {"kid", "nonce", "ciphertext"}


async def test_unknown_paths_and_ids_answer_problem_details(kit: Any) -> None:
    async with kit.service() as service:
        for path in ("/v1/webhooks/not-an-id", f"/v1/webhooks/{'0' * 32}"):
            answer = await service.http.get(path, headers=service.admin())
            assert answer.status_code in (404, 422)
            assert answer.headers["content-type"] == "application/problem+json"
        replay = await service.http.post(
            f"/v1/webhooks/{'0' * 32}/replay", params={"since": "hôm qua"}, headers=service.admin()
        )
        assert replay.status_code == 422
        assert replay.json()["errors"][0]["pointer"] in ("/since", "/")
        redrive = await service.http.post(
            f"/v1/webhooks/{'0' * 32}/dead-letters/redrive",
            content=b"[1,2",
            headers={**service.admin(), "content-type": "application/json"},
        )
        assert redrive.status_code == 422
