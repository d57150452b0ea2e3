"""Whoever reads identity's outbox or its topic learns no usable link or code (issue 16, item 5).

An attacker with a dump of identity's database (the outbox keeps a day of events) or read access to
`motcua.identity.account.v1` (a misconfigured ACL, a broker backup) looks for the verification links, SMS
codes and reset links on their way to notification. They find sealed values only, while the person still
receives working ones: the link verifies, the code activates, the reset link changes the password.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import httpx
from motcua.common import mongo, topics
from motcua.devtools import devservers
from motcua.devtools.journeys import RESET_LINK, SMS_CODE, VERIFY_LINK, WAIT, ok, register_and_activate, wait_ready
from motcua.devtools.testing import raw_records
from motcua.devtools.testing_messages import Outbox


def sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"kid", "nonce", "ciphertext"}


async def test_the_outbox_and_the_topic_hold_no_usable_link_or_code(
    platform: devservers.Platform, outbox: Outbox
) -> None:
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as gateway:
        await wait_ready(gateway)
        person, phone = await register_and_activate(gateway, outbox)  # the link and the code worked
        ok(await gateway.post("/v1/auth/password-reset", json={"email": person["email"]}), 202)
        reset_token = unquote(await outbox.mail.find(person["email"], RESET_LINK, timeout=WAIT))
        new_password = "Trăng rằm tháng tám sáng soi 2027"
        changed = await gateway.post(
            "/v1/auth/password-reset/confirm", json={"token": reset_token, "new_password": new_password}
        )
        assert ok(changed)["status"] == "password_changed"
        login = await gateway.post("/v1/auth/login", json={"username": person["email"], "password": new_password})
        assert "access_token" in ok(login)

    secrets = [
        unquote(await outbox.mail.find(person["email"], VERIFY_LINK, timeout=WAIT)),
        reset_token,
        await outbox.sms.find(phone, SMS_CODE, timeout=WAIT),
    ]
    secret_fields = {"verification_url", "code", "reset_url"}

    # the outbox, as a database dump shows it
    client = mongo.connect(platform.env["MONGODB_URI"])
    try:
        stored = await client["motcua_identity"]["outbox"].find({"key": person["id"].encode()}).to_list()
    finally:
        await client.close()
    assert len(stored) >= 4  # registered, email link, SMS code, activated, reset link
    for doc in stored:
        raw = bytes(doc["value"])
        data = json.loads(raw)
        for secret in secrets:
            assert secret.encode() not in raw, f"{doc['type']} in the outbox carries a live secret"
        assert all(sealed(data[f]) for f in secret_fields & set(data)), doc["type"]
    assert {f for doc in stored for f in json.loads(bytes(doc["value"]))} >= secret_fields

    # the topic, as a reader with the wrong ACL (or a broker backup) sees it
    topic = topics.prefixed(platform.env.get("KAFKA_TOPIC_PREFIX", ""), topics.IDENTITY_ACCOUNT)
    # (the outbox also holds the applicant's profile, for its own topic: checked above, counted apart here)
    on_account_topic = [doc for doc in stored if doc["topic"] == topic]
    records = await raw_records(platform.env["KAFKA_BOOTSTRAP_SERVERS"], topic, at_least=len(on_account_topic))
    mine = [(value, headers) for value, headers in records if person["id"] in headers]
    assert len(mine) >= len(on_account_topic)
    for value, headers in mine:
        for secret in secrets:
            assert secret.encode() not in value, "a record on the topic carries a secret"
            assert secret not in headers, "a record's headers carry a secret"
        data = json.loads(value)
        assert all(sealed(data[f]) for f in secret_fields & set(data))
