"""Secrets inside events, sealed for their one reader: AES-256-GCM under keys named by the operator.

Identity's events carry live secrets (an email-verification link, an SMS code, a password-reset link) to
notification. The outbox keeps them a day, the topic and its dead-letter topic longer; whoever reads any of
them must not learn a usable secret. So each such field travels as `{"kid", "nonce", "ciphertext"}`
(base64url, no padding): sealed by identity, opened by notification, the only two holders of the keys.

The associated data binds a ciphertext to its event type, field and account, so a sealed code moved into
another account's event, or a reset link moved into a verification email, does not open.

Keys come from `EVENT_SECRET_KEYS`: `kid:base64key` pairs separated by commas, spaces or new lines, the
newest first. The first seals; every listed key opens what was sealed under its id, so keys rotate by putting
a new pair first and removing an old one once nothing it sealed can still be read (the topic's retention).
Empty: a fixed development key, published here, which protects nothing (`make run` and tests only; the
deployment manifests set the variable). Neither keys nor secrets are ever logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

SETTING = "EVENT_SECRET_KEYS"
KEY_BYTES = 32
NONCE_BYTES = 12
DEVELOPMENT_KID = "development"
# Development only: public, protects nothing; a deployment sets EVENT_SECRET_KEYS.
DEVELOPMENT_KEY = hashlib.sha256(b"motcua event secrets development key: not a secret").digest()
_SEPARATORS = re.compile(r"[\s,]+")
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SealedText(BaseModel):
    """A secret sealed for its one reader: the key's id, a 96-bit nonce and the AES-GCM ciphertext (base64url)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kid: str = Field(max_length=64, description="Which key sealed it (EVENT_SECRET_KEYS names each key).")
    nonce: str = Field(max_length=32, description="The 96-bit nonce, base64url without padding.")
    ciphertext: str = Field(max_length=8192, description="AES-256-GCM ciphertext and tag, base64url without padding.")


class UnreadableSecret(Exception):
    """A sealed secret that does not open: its key is not configured, or it was altered or moved."""

    def __init__(self, reason: str, kid: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kid = kid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_key(text: str, label: str) -> bytes:
    """A 32-byte AES-256 key from base64 (standard or URL-safe); the errors name `label`, never the key."""
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{label} is not base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{label} is {len(key)} bytes; each key must be {KEY_BYTES} (AES-256)")
    return key


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """`kid:base64key` pairs, newest first; the errors name a pair's position, never a key."""
    found: list[tuple[str, bytes]] = []
    for position, word in enumerate((w for w in _SEPARATORS.split(text) if w), start=1):
        kid, colon, encoded = word.partition(":")
        if not colon or not _KID.match(kid):
            raise ValueError(f"{SETTING}: entry {position} is not kid:base64key (kid: letters, digits, . _ -)")
        key = decode_key(encoded, f"{SETTING}: the key of entry {position} ({kid})")
        if any(kid == seen for seen, _ in found):
            raise ValueError(f"{SETTING}: the key id {kid} is listed twice")
        found.append((kid, key))
    return found


def _aad(purpose: str, owner: str) -> bytes:
    return b"motcua event secret\0" + purpose.encode("utf-8") + b"\0" + owner.encode("utf-8")


@dataclass(frozen=True)
class EventSealer:
    """Seals secrets for events with the newest key and opens them with any configured one."""

    keys: Sequence[tuple[str, bytes]] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one event secret key is needed")

    @classmethod
    def configured(cls, setting: str) -> EventSealer:
        """From EVENT_SECRET_KEYS; empty: the published development key."""
        keys = parse_keys(setting)
        return cls(tuple(keys) if keys else ((DEVELOPMENT_KID, DEVELOPMENT_KEY),))

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    def seal(self, secret: str, *, purpose: str, owner: str) -> SealedText:
        """`secret` sealed for `purpose` (event type and field) of `owner` (the account id)."""
        kid, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, secret.encode("utf-8"), _aad(purpose, owner))
        return SealedText(kid=kid, nonce=_b64(nonce), ciphertext=_b64(ciphertext))

    def open(self, sealed: SealedText | str, *, purpose: str, owner: str) -> str:
        """The secret. A plain string is one written before sealing began (an event still on the topic from
        the previous version) and is read as it is. Raises UnreadableSecret."""
        if isinstance(sealed, str):
            return sealed
        key = next((k for kid, k in self.keys if kid == sealed.kid), None)
        if key is None:
            raise UnreadableSecret("sealed with a key that is not configured", sealed.kid)
        try:
            plain = AESGCM(key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext), _aad(purpose, owner))
        except (InvalidTag, ValueError, binascii.Error):
            raise UnreadableSecret("does not authenticate (altered, or moved from another event)", sealed.kid) from None
        return plain.decode("utf-8")


def purpose(ce_type: str, field_name: str) -> str:
    """What a sealed field is for, bound into its ciphertext: the event type and the field's name."""
    return f"{ce_type}#{field_name}"
