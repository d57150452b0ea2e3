"""Tracking codes like `HS-2611-7KQ3-M9XA`: readable aloud, typo-checked, not guessable in sequence.

`HS` (hồ sơ), the year and month of submission, seven random Crockford base32 symbols (no I, L, O
or U, so nothing reads as another) and one check symbol (Luhn mod 32), which catches any single
mistyped symbol and most swapped neighbours before the database is asked.
"""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import datetime

from motcua.submission.due_dates import VIETNAM

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 7
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# What people type for what they mean (Crockford's decoding rules).
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SHAPE = re.compile(rf"^HS(\d{{4}})([{ALPHABET}]{{{RANDOM_SYMBOLS + 1}}})$")


def check_symbol(payload: str) -> str:
    """Luhn mod N over the base32 alphabet (digits are their own values)."""
    total = 0
    factor = 2
    for char in reversed(payload):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def new_code(at: datetime) -> str:
    """A fresh code for a dossier submitted at `at` (uniqueness is the database's unique index)."""
    period = at.astimezone(VIETNAM).strftime("%y%m")
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    check = check_symbol(period + random_part)
    body = random_part + check
    return f"HS-{period}-{body[:4]}-{body[4:]}"


def normalise(typed: str) -> str | None:
    """The canonical form of what someone typed, or None when it cannot be a tracking code."""
    compact = re.sub(r"[\s\-]", "", typed.upper()).translate(_ALIASES)
    match = _SHAPE.match(compact)
    if match is None:
        return None
    period, body = match.groups()
    if check_symbol(period + body[:-1]) != body[-1]:
        return None
    return f"HS-{period}-{body[:4]}-{body[4:]}"


_PREFIX = re.compile(rf"^HS(\d{{0,4}}|\d{{4}}[{ALPHABET}]{{1,{RANDOM_SYMBOLS + 1}}})$")
_GROUPS = (2, 6, 10)  # where the dashes go in the compact code: HS|2611|7KQ3|M9XA


def search_prefix(typed: str) -> str | None:
    """What an officer typed to find a dossier (a whole tracking code or its beginning, dashes and spaces
    optional, Crockford's aliases read as meant) as the beginning of a canonical code, `HS-2611-7K`; None
    when it cannot begin a tracking code. A whole code must also pass its check symbol."""
    compact = re.sub(r"[\s\-]", "", typed.upper()).translate(_ALIASES)
    if not _PREFIX.match(compact):
        return None
    if len(compact) == 4 + RANDOM_SYMBOLS + 3:
        return normalise(compact)
    cuts = [0, *(g for g in _GROUPS if g < len(compact)), len(compact)]
    return "-".join(compact[a:b] for a, b in itertools.pairwise(cuts))


def meant_as_code(typed: str) -> bool:
    """`HS` then a digit (dashes and spaces aside): meant as a tracking code, since no name begins so; what else
    an officer types in the desk's search is the beginning of an applicant's name."""
    compact = re.sub(r"[\s\-]", "", typed.upper())
    return len(compact) > 2 and compact.startswith("HS") and compact[2].isdigit()
