"""Sealing TOTP secrets: keys from the setting or a generated file, rotation, and nothing that leaks a key."""

import base64
import os
from pathlib import Path

import pyotp
import pytest
from motcua.identity.sealing import KEY_FILE_NAME, Sealer, UnreadableSecret, key_id, load_or_create_keys, parse_keys

OLD, NEW = os.urandom(32), os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_sealed_secret_opens_only_for_its_account_and_with_a_configured_key() -> None:
    secret = pyotp.random_base32()
    sealed = Sealer([OLD]).seal(secret, "account-1")
    assert sealed["kid"] == key_id(OLD)
    assert len(sealed["nonce"]) == 12
    assert secret.encode() not in sealed["ciphertext"]
    assert Sealer([OLD]).seal(secret, "account-1")["nonce"] != sealed["nonce"]  # a fresh nonce each time
    assert Sealer([NEW, OLD]).open(sealed, "account-1") == secret  # rotated: the old key still opens
    with pytest.raises(UnreadableSecret, match="another account"):
        Sealer([OLD]).open(sealed, "account-2")
    with pytest.raises(UnreadableSecret, match="not configured") as missing:
        Sealer([NEW]).open(sealed, "account-1")
    assert missing.value.kid == key_id(OLD)
    altered = sealed["ciphertext"][:-1] + bytes([sealed["ciphertext"][-1] ^ 1])  # always a different last byte
    with pytest.raises(UnreadableSecret):
        Sealer([OLD]).open({**sealed, "ciphertext": altered}, "account-1")
    with pytest.raises(UnreadableSecret):
        Sealer([OLD]).open(42, "account-1")


def test_what_is_stale_is_what_the_first_key_did_not_seal() -> None:
    sealer = Sealer([NEW, OLD])
    assert sealer.stale("JBSWY3DPEHPK3PXP")  # stored in plain, before encryption
    assert sealer.stale(Sealer([OLD]).seal("JBSWY3DPEHPK3PXP", "a"))
    assert not sealer.stale(sealer.seal("JBSWY3DPEHPK3PXP", "a"))
    assert sealer.open("JBSWY3DPEHPK3PXP", "a") == "JBSWY3DPEHPK3PXP"


def test_keys_are_read_in_order_and_their_errors_never_show_a_key() -> None:
    assert parse_keys(f" {b64(NEW)},\n{b64(OLD)} ", "setting") == [NEW, OLD]
    assert parse_keys(base64.urlsafe_b64encode(NEW).decode(), "setting") == [NEW]
    short = b64(os.urandom(16))
    wrong = ((f"{b64(NEW)},{short}", "key 2 is 16 bytes"), ("not*base64", "key 1 is not base64"), ("", "no key"))
    for text, said in wrong:
        with pytest.raises(ValueError, match=said) as refused:
            parse_keys(text, "IDENTITY_TOTP_ENCRYPTION_KEYS")
        assert short not in str(refused.value)
        assert b64(NEW) not in str(refused.value)
    assert b64(NEW) not in repr(Sealer([NEW]))
    assert repr(NEW) not in repr(Sealer([NEW]))


def test_without_the_setting_a_key_file_is_made_beside_the_signing_key_once(tmp_path: Path) -> None:
    first = Sealer.configured("", tmp_path / "keys")
    path = tmp_path / "keys" / KEY_FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert Sealer.configured("  ", tmp_path / "keys").current_kid == first.current_kid  # read, not replaced
    assert load_or_create_keys(path) == list(first.keys)
    assert Sealer.configured(b64(NEW), tmp_path / "elsewhere").current_kid == key_id(NEW)
    assert not (tmp_path / "elsewhere").exists()  # the setting wins; no file is made
