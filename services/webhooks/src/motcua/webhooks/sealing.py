"""Subscribers' secrets at rest: AES-256-GCM under WEBHOOKS_SECRET_KEYS, the subscription id as associated data.

A signing secret must be readable to sign, so it cannot be kept as a digest; a database dump alone must
still not let anyone forge deliveries. The first key seals, every key opens (rotate keys by putting a new
one first). Outside development the keys are required; in development a fixed, published key is used.
Neither keys nor secrets are ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from motcua.common.sealing import decode_key

SETTING = "WEBHOOKS_SECRET_KEYS"
KEY_BYTES = 32
NONCE_BYTES = 12
# Development only (the settings refuse an empty WEBHOOKS_SECRET_KEYS elsewhere): public, protects nothing.
DEVELOPMENT_KEY = hashlib.sha256(b"motcua webhooks development key: not a secret").digest()
_SEPARATORS = re.compile(r"[\s,]+")


class UnreadableSecret(Exception):
    """A stored secret that does not open: its key is not configured, or it was altered or moved."""


def parse_keys(text: str) -> list[bytes]:
    """Base64 keys of 32 bytes separated by commas or spaces; errors never echo a key."""
    found = []
    for position, word in enumerate((w for w in _SEPARATORS.split(text) if w), start=1):
        found.append(decode_key(word, f"{SETTING}: key {position}"))
    return found


def _kid(key: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(b"motcua webhooks key id\0" + key).digest()[:9]).decode()


def _aad(subscription_id: str) -> bytes:
    return b"motcua webhook secret\0" + subscription_id.encode()


@dataclass(frozen=True)
class Sealer:
    keys: Sequence[bytes] = field(repr=False)

    @classmethod
    def configured(cls, setting: str) -> Sealer:
        keys = parse_keys(setting)
        return cls(tuple(keys) if keys else (DEVELOPMENT_KEY,))

    def seal(self, secret: str, subscription_id: str) -> dict[str, Any]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, secret.encode(), _aad(subscription_id))
        return {"kid": _kid(self.keys[0]), "nonce": nonce, "ciphertext": sealed}

    def open(self, stored: dict[str, Any], subscription_id: str) -> str:
        key = next((k for k in self.keys if _kid(k) == stored.get("kid")), None)
        if key is None:
            raise UnreadableSecret("sealed with a key that is not configured")
        try:
            return AESGCM(key).decrypt(stored["nonce"], stored["ciphertext"], _aad(subscription_id)).decode()
        except (InvalidTag, KeyError, TypeError, ValueError):
            raise UnreadableSecret("does not authenticate") from None
