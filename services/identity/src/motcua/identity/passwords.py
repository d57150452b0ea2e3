"""Passwords: the strength rule (NIST SP 800-63B, OWASP ASVS L2) and argon2id hashing off the event loop.

No composition rules and no forced rotation: at least 8 characters (15 or more encouraged), up to
128, any Unicode (normalised to NFKC, so "ộ" typed composed or decomposed is the same password),
refused when zxcvbn finds it easy to guess, including from the person's own name, email or phone.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from collections.abc import Sequence

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; a longer password's first 72 characters decide

# Words anyone attacking this portal tries first.
SERVICE_WORDS = (
    "motcua",
    "mot cua",
    "một cửa",
    "dichvucong",
    "dich vu cong",
    "dịch vụ công",
    "dvc",
    "congdan",
    "vietnam",
    "viet nam",
    "hanoi",
    "saigon",
    "hochiminh",
    "matkhau",
    "mat khau",
    "mật khẩu",
)


def normalise(password: str) -> str:
    """NFKC, as SP 800-63B asks, so equivalent Unicode input hashes the same."""
    return unicodedata.normalize("NFKC", password)


def _plain(text: str) -> str:
    """Without diacritics, as Vietnamese is often typed: "Nguyễn Thị Đào" -> "nguyen thi dao"."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _variants(words: Sequence[str]) -> list[str]:
    """Each word as written, without diacritics, and without spaces or dots ("nguyenthian")."""
    found: dict[str, None] = {}
    for word in words:
        for form in (word.casefold().strip(), _plain(word).strip()):
            for variant in (form, "".join(ch for ch in form if ch.isalnum())):
                if variant:
                    found[variant] = None
    return list(found)


def weakness(password: str, *, personal: Sequence[str] = (), min_score: int = 3) -> str | None:
    """Why this password is refused, or None when it is acceptable."""
    candidate = normalise(password)
    if len(candidate) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters (a phrase of 15 or more is easier to remember)"
    if len(candidate) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not candidate.strip():
        return "must not be only spaces"
    own = _variants(personal)
    typed = {candidate.casefold(), _plain(candidate)}
    for word in own:
        if len(word) >= 4 and any(word in t and len(word) >= len(t) // 2 for t in typed):
            return "must not be built from your own name, email, phone number or ID"
    inputs = [*own, *_variants(SERVICE_WORDS)]
    result = zxcvbn(candidate[:_ZXCVBN_MAX], user_inputs=inputs)
    if int(result["score"]) >= min_score:
        return None
    warning = str(result.get("feedback", {}).get("warning") or "").rstrip(".")
    reason = f" ({warning})" if warning else ""
    return f"is too easy to guess{reason}; try a longer phrase of several unrelated words"


class Hasher:
    """argon2id hashes computed in worker threads, at most `concurrency` at a time (CPU and memory bound)."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int) -> None:
        self._argon2 = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # A missing account is checked against this, so it costs the same as a real one.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._argon2.hash, normalise(password))

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; the same work when there is no stored hash."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, normalise(password))

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """The hash was made with other parameters than today's: rehash after a successful sign-in."""
        return self._argon2.check_needs_rehash(stored)
