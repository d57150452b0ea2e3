"""TOTP secrets at rest: AES-256-GCM under keys kept outside the database.

A TOTP secret has to be readable to check codes, so it cannot be stored as a digest; a database dump
alone must still not yield anyone's second factor. Each secret is sealed with a random 96-bit nonce
and the account id as associated data (a ciphertext copied onto another account does not open) and
stored with the id of its key: `{"kid", "nonce", "ciphertext"}`.

The keys come from IDENTITY_TOTP_ENCRYPTION_KEYS, or, when that is empty, from a key file generated
on first start next to the signing key (mode 0600), as the signing key is. The first key seals, every
key opens, so keys rotate by putting a new one first. A plain string in place of the sealed form is a
secret stored before encryption (or by a replica of that version during a rolling update): it is read
as it is and sealed again at the next opportunity. Neither keys nor secrets are ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from motcua.common.sealing import KEY_BYTES, decode_key
from motcua.common.sealing import UnreadableSecret as UnreadableSecret  # the same failure as the events' secrets

NONCE_BYTES = 12
KEY_FILE_NAME = "totp-encryption-keys"
SETTING = "IDENTITY_TOTP_ENCRYPTION_KEYS"
_SEPARATORS = re.compile(r"[\s,]+")


def key_id(key: bytes) -> str:
    """A short stable name for a key (a digest of it), stored with each secret the key sealed."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"motcua totp key id\0" + key).digest()[:9]).decode("ascii")


def parse_keys(text: str, source: str) -> list[bytes]:
    """Base64 keys of 32 bytes, separated by commas, spaces or new lines; the errors never echo a key."""
    found: list[bytes] = []
    for position, word in enumerate((w for w in _SEPARATORS.split(text) if w), start=1):
        found.append(decode_key(word, f"{source}: key {position}"))
    if not found:
        raise ValueError(f"{source}: no key")
    return found


def load_or_create_keys(path: Path) -> list[bytes]:
    """The keys in `path`, generated (one random key, mode 0600) when the file does not exist."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another replica sharing the volume wrote it first
            text = path.read_text(encoding="ascii")
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(base64.b64encode(key).decode("ascii") + "\n")
            return [key]
    return parse_keys(text, str(path))


def _aad(account_id: str) -> bytes:
    return b"motcua totp secret\0" + account_id.encode("utf-8")


@dataclass(frozen=True)
class Sealer:
    """Seals and opens TOTP secrets; the first key seals, all of them open."""

    keys: Sequence[bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one TOTP encryption key is needed")

    @classmethod
    def configured(cls, setting: str, key_dir: Path) -> Sealer:
        """From the setting when it is given, else from the key file in `key_dir` (created when absent)."""
        if setting.strip():
            return cls(tuple(parse_keys(setting, SETTING)))
        return cls(tuple(load_or_create_keys(key_dir / KEY_FILE_NAME)))

    @property
    def current_kid(self) -> str:
        return key_id(self.keys[0])

    def seal(self, secret: str, account_id: str) -> dict[str, Any]:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.keys[0]).encrypt(nonce, secret.encode("utf-8"), _aad(account_id))
        return {"kid": self.current_kid, "nonce": nonce, "ciphertext": ciphertext}

    def open(self, stored: object, account_id: str) -> str:
        """The secret; a plain string is one stored before encryption. Raises UnreadableSecret."""
        if isinstance(stored, str):
            return stored
        if not isinstance(stored, dict):
            raise UnreadableSecret("not a sealed secret", None)
        kid, nonce, ciphertext = stored.get("kid"), stored.get("nonce"), stored.get("ciphertext")
        if not isinstance(nonce, bytes) or not isinstance(ciphertext, bytes):
            raise UnreadableSecret("not a sealed secret", str(kid))
        key = next((k for k in self.keys if key_id(k) == kid), None)
        if key is None:
            raise UnreadableSecret("sealed with a key that is not configured", str(kid))
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, _aad(account_id)).decode("utf-8")
        except (InvalidTag, ValueError):
            raise UnreadableSecret("does not authenticate (altered, or moved from another account)", str(kid)) from None

    def stale(self, stored: object) -> bool:
        """Whether this stored secret should be sealed again: plain, or sealed with an older key."""
        return isinstance(stored, str) or (isinstance(stored, dict) and stored.get("kid") != self.current_kid)


def holding(path: str, stored: object) -> tuple[str, object]:
    """(field, value) that matches `path` only while it still holds `stored`; a nonce names a sealed secret."""
    if isinstance(stored, dict):
        return f"{path}.nonce", stored.get("nonce")
    return path, stored
