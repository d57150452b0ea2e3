"""The webhook rules without I/O: URLs, who manages, secrets, the retry schedule, the breaker, addresses."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from motcua.common.errors import Forbidden, InvalidInput
from motcua.webhooks.addresses import Policy
from motcua.webhooks.model import (
    Breaker,
    Caller,
    Key,
    RetryPolicy,
    check_event_types,
    check_url,
    failed_body,
    new_secret,
    rotate,
    signing_keys,
)
from motcua.webhooks.sealing import Sealer, UnreadableSecret
from motcua.webhooks.sending import signature_headers
from standardwebhooks.webhooks import Webhook

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PORTS = frozenset({443, 8443})


def test_outside_development_only_https_to_an_open_port_without_credentials_is_accepted() -> None:
    assert check_url("https://cmc.gov.vn/hook", development=False, allowed_ports=PORTS).hostname == "cmc.gov.vn"
    for bad in (
        "http://cmc.gov.vn/hook",
        "https://a:b@cmc.gov.vn/",
        "https://cmc.gov.vn:25/",
        "https:///x",
        "https://cmc.gov.vn/#x",
        "https://cmc.gov.vn/a b",
        "https://cmc.gov.vn:99999/",
    ):
        with pytest.raises(InvalidInput) as refused:
            check_url(bad, development=False, allowed_ports=PORTS)
        assert refused.value.problems[0].pointer == "/url"
    assert check_url("http://127.0.0.1:9000/x", development=True, allowed_ports=PORTS).port == 9000


def test_only_dossier_event_types_may_be_asked_for() -> None:
    assert check_event_types(["motcua.submission.ApplicationReceived.v1"] * 2) == [
        "motcua.submission.ApplicationReceived.v1"
    ]
    with pytest.raises(InvalidInput):
        check_event_types(["motcua.identity.PasswordResetRequested.v1"])


def test_an_officer_without_the_approver_role_cannot_manage_and_an_approver_only_their_agency() -> None:
    with pytest.raises(Forbidden):
        Caller(admin=False, agency="A", approver=False).require_manager()
    approver = Caller(admin=False, agency="A", approver=True)
    assert approver.agency_for_new(None) == "A"
    with pytest.raises(Forbidden):
        approver.agency_for_new("B")
    assert approver.sees("A")
    assert not approver.sees("B")
    assert not approver.sees(None)
    admin = Caller(admin=True, agency=None, approver=False)
    assert admin.agency_for_new(None) is None
    assert admin.sees("B")


def test_a_rotated_secret_keeps_signing_until_the_overlap_ends() -> None:
    first = Key(new_secret(), NOW)
    keys = rotate([first], "whsec_new", now=NOW, overlap=timedelta(hours=1))
    assert [k.secret for k in signing_keys(keys, NOW + timedelta(minutes=59))] == ["whsec_new", first.secret]
    assert [k.secret for k in signing_keys(keys, NOW + timedelta(hours=1))] == ["whsec_new"]
    assert [k.secret for k in rotate(keys, "whsec_3", now=NOW, overlap=timedelta(0))] == ["whsec_3"]


def test_signatures_by_each_secret_in_use_verify_with_the_standardwebhooks_verifier() -> None:
    a, b = new_secret(), new_secret()
    body = '{"id":"e1","data":{"tên":"Nguyễn"}}'
    headers = signature_headers("e1", body, [a, b], datetime.now(UTC))
    assert Webhook(a).verify(body, headers) == Webhook(b).verify(body, headers)


def test_the_retry_delay_grows_with_jitter_up_to_its_ceiling_and_stops_at_the_window() -> None:
    policy = RetryPolicy(base_seconds=5, max_delay_seconds=7200, retry_for_seconds=86400)
    assert [policy.delay(n, lambda: 0.0) for n in (1, 2, 3)] == [2.5, 5.0, 10.0]
    assert policy.delay(30, lambda: 0.999) <= 7200
    assert 5 <= policy.delay(2, lambda: 0.5) <= 10
    assert policy.next_attempt(attempt=1, arrived_at=NOW, now=NOW, rand=lambda: 0.0) == NOW + timedelta(seconds=2.5)
    assert policy.next_attempt(attempt=40, arrived_at=NOW, now=NOW + timedelta(hours=23), rand=lambda: 0.9) is None
    # the whole schedule fits in a day: about 20 attempts, none after 24 h
    at, n = NOW, 0
    while (following := policy.next_attempt(attempt=n + 1, arrived_at=NOW, now=at, rand=lambda: 0.5)) is not None:
        at, n = following, n + 1
    assert 15 <= n <= 25
    assert at <= NOW + timedelta(hours=24)


def test_the_breaker_opens_after_failures_in_a_row_and_closes_on_a_success() -> None:
    breaker = Breaker(threshold=3, cooldown=5, max_cooldown=60)
    for t in (0, 1):
        breaker.failed(t)
    assert breaker.allows(1.5)
    assert breaker.troubled
    breaker.failed(2)
    assert not breaker.allows(6.9)
    assert breaker.allows(7.0)
    breaker.failed(7)  # the probe failed: open again, twice as long
    assert not breaker.allows(16.9)
    assert breaker.allows(17.0)
    breaker.succeeded()
    assert breaker.allows(17.0)
    assert not breaker.troubled
    assert breaker.state == "closed"


def test_private_loopback_link_local_and_mapped_addresses_are_refused_outside_development() -> None:
    policy = Policy(development=False)
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::",
    ):
        assert policy.refusal(ipaddress.ip_address(address)) is not None, address
    for address in ("203.113.131.1", "2402:800::1", "8.8.8.8"):
        assert policy.refusal(ipaddress.ip_address(address)) is None, address
    exempt = Policy(development=False, allowed=(ipaddress.ip_network("10.8.0.0/16"),))
    assert exempt.refusal(ipaddress.ip_address("10.8.1.2")) is None
    assert exempt.refusal(ipaddress.ip_address("10.9.1.2")) is not None
    assert Policy(development=True).refusal(ipaddress.ip_address("127.0.0.1")) is None


def test_secrets_are_sealed_to_their_subscription_and_open_with_an_older_key_after_rotation() -> None:
    old = Sealer.configured("dGVzdCBrZXkgdGVzdCBrZXkgdGVzdCBrZXkgdGVzdCE=")
    sealed = old.seal("whsec_abc", "s1")
    assert b"whsec_abc" not in sealed["ciphertext"]
    with pytest.raises(UnreadableSecret):
        old.open(sealed, "s2")
    both = Sealer.configured(
        "bmV3IGtleSBuZXcga2V5IG5ldyBrZXkgbmV3IGtleSE= dGVzdCBrZXkgdGVzdCBrZXkgdGVzdCBrZXkgdGVzdCE="
    )
    assert both.open(sealed, "s1") == "whsec_abc"
    with pytest.raises(ValueError, match="key 1"):
        Sealer.configured("c2hvcnQ=")


def test_at_most_a_kibibyte_of_a_failed_body_is_kept() -> None:
    assert 1020 <= len(failed_body("ồ".encode() * 1000).encode()) <= 1024
