"""The secrets identity hands out, and the only form in which it keeps them: hashes.

Links (email verification, password reset), refresh tokens, two-factor challenges and recovery
codes are high-entropy, so a SHA-256 digest is enough. The 6-digit SMS code is not: it is kept as
an HMAC under a random per-code salt, and guesses are counted against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


def new_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """How a high-entropy token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_sms_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def new_salt() -> str:
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def code_mac(code: str, salt: str) -> str:
    return hmac.new(base64.b64decode(salt), code.encode("utf-8"), hashlib.sha256).hexdigest()


def code_matches(code: str, salt: str, stored_mac: str) -> bool:
    return hmac.compare_digest(code_mac(code, salt), stored_mac)


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Single-use two-factor recovery codes, `xxxx-xxxx-xxxx-xxxx` (about 79 bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_digest(code: str) -> str:
    """Digest of a recovery code however it was typed: case, spaces and dashes do not matter."""
    return digest("".join(ch for ch in code.casefold() if ch.isalnum()))
