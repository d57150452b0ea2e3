"""Lockout and sending limits, secrets and keys: pure rules."""

import base64
from datetime import UTC, datetime, timedelta

import jwt
import pyotp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from motcua.identity import codes
from motcua.identity.keys import SigningKey, load_or_create, thumbprint
from motcua.identity.limits import Lockout, LockoutPolicy, SendPolicy, attempts_left, client_network
from motcua.identity.model import Account
from motcua.identity.sessions import access_claims
from motcua.identity.twofactor import matching_step

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy(threshold=5, window=timedelta(minutes=15), duration=timedelta(minutes=15))


def test_a_key_whose_slots_are_all_held_waits_until_the_oldest_leaves_the_window() -> None:
    held = Lockout(failures=tuple(NOW + timedelta(minutes=m) for m in range(5)))
    assert held.recent(NOW + timedelta(minutes=4), POLICY) == 5
    assert held.wait(NOW + timedelta(minutes=4), POLICY) == 11 * 60
    assert held.recent(NOW + timedelta(minutes=16), POLICY) == 3  # two left the window
    locked = Lockout(locked_until=NOW + timedelta(minutes=15))
    assert locked.wait(NOW, POLICY) == 900


def test_the_tightest_key_says_how_many_attempts_are_left() -> None:
    wide = LockoutPolicy(threshold=50, window=timedelta(minutes=15), duration=timedelta(minutes=15))
    assert attempts_left({"pair": 3, "account": 40}, {"pair": POLICY, "account": wide}) == 2
    assert attempts_left({"pair": 1, "account": 49}, {"pair": POLICY, "account": wide}) == 1


def test_ipv6_addresses_count_by_their_64_and_ipv4_by_the_address() -> None:
    assert client_network("2001:db8:7:9::1") == client_network("2001:db8:7:9:ffff:1:2:3") == "2001:db8:7:9::/64"
    assert client_network("2001:db8:7:a::1") != client_network("2001:db8:7:9::1")
    assert client_network("203.0.113.9") == "203.0.113.9"
    assert client_network("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_network("unknown") == "unknown"


def test_messages_wait_a_minute_between_them_and_five_fill_an_hour() -> None:
    policy = SendPolicy(interval=timedelta(minutes=1), per_hour=5)
    assert policy.wait([], NOW) == 0
    assert policy.wait([NOW - timedelta(seconds=20)], NOW) == 40
    five = [NOW - timedelta(minutes=m) for m in (55, 40, 30, 20, 10)]
    assert policy.wait(five, NOW) == 300  # the oldest leaves the hour in 5 minutes
    assert policy.wait([*five[1:], NOW - timedelta(minutes=61)], NOW) == 0
    assert policy.record([NOW - timedelta(hours=2), NOW - timedelta(minutes=5)], NOW) == [
        NOW - timedelta(minutes=5),
        NOW,
    ]


def test_secrets_are_kept_as_digests_and_codes_under_a_salted_mac() -> None:
    token = codes.new_token()
    assert len(token) >= 43
    assert codes.digest(token) != token
    code, salt = codes.new_sms_code(), codes.new_salt()
    assert len(code) == 6
    assert code.isdigit()
    mac = codes.code_mac(code, salt)
    assert codes.code_matches(code, salt, mac)
    assert not codes.code_matches(code, codes.new_salt(), mac)
    recovery = codes.new_recovery_codes()
    assert len(recovery) == 10
    assert all(len(c) == 19 for c in recovery)
    assert codes.recovery_digest(recovery[0]) == codes.recovery_digest(recovery[0].upper().replace("-", " "))


def test_a_key_id_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.3
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_key_file_is_created_private_and_read_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "var" / "identity" / "signing-key.pem"
    first = SigningKey(load_or_create(path))
    assert path.stat().st_mode & 0o777 == 0o600
    again = SigningKey(load_or_create(path))
    assert first.kid == again.kid
    assert "d" not in first.jwk
    assert first.jwk["alg"] == "EdDSA"
    other = tmp_path / "rsa.pem"
    other.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    try:
        load_or_create(other)
    except ValueError:
        pass
    else:
        raise AssertionError("a file without an Ed25519 key must be refused")


def test_access_claims_carry_roles_agency_and_no_personal_details() -> None:
    officer = Account(
        id="o-1",
        account_type="officer",
        status="active",
        full_name="Trần Bình",
        email="b@x.vn",
        phone="+84912345678",
        locale="vi",
        created_at=NOW,
        agency_code="BTP",
    )
    claims = access_claims(
        officer, issuer="https://dvc.example", audience="motcua", now=NOW, ttl=900, session_id="s-1", amr=["pwd"]
    )
    assert claims["roles"] == ["officer"]
    assert claims["agency"] == "BTP"
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    assert not {"email", "phone", "name", "full_name"} & set(claims)
    key = SigningKey(Ed25519PrivateKey.generate())
    token = key.sign(claims)
    assert jwt.get_unverified_header(token)["kid"] == key.kid
    assert base64.urlsafe_b64decode(token.split(".")[0] + "==").startswith(b'{"alg":"EdDSA"')


def test_a_totp_code_matches_its_step_with_one_step_of_drift() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    step = int(NOW.timestamp()) // 30
    assert matching_step(secret, totp.at(NOW), NOW) == step
    assert matching_step(secret, totp.at(NOW + timedelta(seconds=30)), NOW) == step + 1
    assert matching_step(secret, totp.at(NOW - timedelta(seconds=90)), NOW) is None
