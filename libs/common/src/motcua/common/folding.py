"""Vietnamese text folded for search: no case, no diacritics, đ as d, and one spelling of a final i/y.

One set of rules for every search: citizens type "dang ky kinh doanh", "ĐĂNG KÝ KINH DOANH" or "đăng kí" in
the catalogue, an officer types "nguyen thi", "NGUYỄN THỊ" or "Nguyên Thi" at the desk; each meets the same
stored words, so queries and stored fields go through the same `fold`.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+")
_MARKS = re.compile("[\u0300-\u036f]")  # combining diacritics: Vietnamese tones and vowel marks
_VOWELS = frozenset("aeiouy")


def _strip_marks(text: str) -> str:
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


def _one_i(word: str) -> str:
    """`ký`/`kí`, `Lý`/`Lí`, `sỹ`/`sĩ`, `quý`/`quí`: a final y after consonants is written either way.

    Only that position is folded, so `tuyến`, `huy` or `may` keep their y (and stay apart from `mai`)."""
    if len(word) < 2 or not word.endswith("y"):
        return word
    head = word[:-1]
    if head == "qu" or not any(ch in _VOWELS for ch in head):
        return head + "i"
    return word


def words(text: str) -> list[str]:
    """The folded words of `text`, in order (letters and digits; everything else separates)."""
    plain = _strip_marks(text.lower().replace("đ", "d").replace("ð", "d"))
    return [_one_i(w) for w in _WORD.findall(plain)]


def fold(text: str) -> str:
    """`text` as one folded, single-spaced string: "Nguyễn Thị Ánh" -> "nguyen thi anh"."""
    return " ".join(words(text))
