"""Ranked search over the published procedures, on folded words (pure: no I/O).

Every query word must appear somewhere (AND), with or without diacritics. Tiers, best first:
1. the query is the procedure's code;  2. the code starts with it (HT-KS-01 finds HT-KS-01-0042);
3. a name (Vietnamese or English) starts with the query as a phrase;  4. a name holds the phrase;
5. a name holds every word;  6. a description holds the phrase;  7. a description holds every word;
8. the words are spread over code, names and descriptions.
Within a tier: the shorter name first (the more general procedure), then the name, then the code.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from motcua.common.folding import fold, words


def folded_fields(code: str, name: str, name_en: str, description: str, description_en: str) -> dict[str, Any]:
    """The folded search fields stored beside a published version (and indexed in memory from them)."""
    fields: dict[str, Any] = {
        "code": fold(code),
        "name": fold(name),
        "name_en": fold(name_en),
        "description": fold(description),
        "description_en": fold(description_en),
    }
    fields["words"] = sorted({w for text in fields.values() for w in text.split()})
    return fields


@dataclass(frozen=True)
class Entry:
    """One listed procedure: its summary (what a result shows) and its folded fields."""

    code: str
    summary: Mapping[str, Any]
    folded: Mapping[str, Any]
    agency_code: str
    applicant_types: frozenset[str]

    @property
    def tie(self) -> tuple[int, str, str]:
        """Order among equals: the shorter name (the more general procedure), then the name, the code."""
        return (self.folded["name"].count(" "), self.folded["name"], self.code)

    def keys(self) -> dict[str, set[str]]:
        """What the index files this entry under, per postings."""
        f = self.folded
        names = [f["name"].split(), f["name_en"].split()]
        code = f["code"].split()
        return {
            "any": set(f["words"]),
            "name": set(names[0]),
            "name_en": set(names[1]),
            "name_pair": {f"{a} {b}" for n in names for a, b in pairwise(n)},
            "name_start": {f"{k}:{' '.join(n[:k])}" for n in names for k in (1, 2) if len(n) >= k},
            "description": set(f["description"].split()) | set(f["description_en"].split()),
            "code_prefix": {" ".join(code[:k]) for k in range(1, len(code))},
            "agency": {self.agency_code},
            "applicant_type": set(self.applicant_types),
        }

    def name_has(self, phrase: str, *, at_start: bool = False) -> bool:
        for name in (self.folded["name"], self.folded["name_en"]):
            if (name == phrase or name.startswith(phrase + " ")) if at_start else f" {phrase} " in f" {name} ":
                return True
        return False

    def description_has(self, phrase: str) -> bool:
        return any(f" {phrase} " in f" {self.folded[k]} " for k in ("description", "description_en"))


@dataclass(frozen=True)
class Query:
    q: str = ""
    agency: str | None = None
    applicant_type: str | None = None
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class Results:
    items: list[Mapping[str, Any]]
    total: int


Postings = dict[str, int]  # key -> bitmap of slots
_ONE = re.compile("1")


def _all_of(postings: Postings, wanted: Iterable[str]) -> int:
    """Slots holding every wanted key."""
    found = -1
    for key in wanted:
        found &= postings.get(key, 0)
        if not found:
            return 0
    return found


def _slots(bitmap: int) -> list[int]:
    """The set bits of `bitmap`, lowest first (found in its binary text at C speed, not bit by bit)."""
    return [m.start() for m in _ONE.finditer(bin(bitmap)[:1:-1])]


class SearchIndex:
    """The listed procedures by word and by field; `seq` is the last listing change it has applied.

    Each entry has a slot; each posting (a word of a field, a word pair, a filter value) is an integer
    whose set bits are the slots holding it, so the tiers of the ranking are a few `&`, `|` and `~`
    on integers. Only entries whose name holds a long phrase's words, or whose description holds the
    words, are looked at one by one (for the phrase); only the tiers the asked page reaches are put
    in order, by a rank computed once per change. 7,000 procedures take a few MB.
    """

    def __init__(self) -> None:
        self.seq = 0
        self._entries: dict[str, Entry] = {}
        self._slot: dict[str, int] = {}
        self._codes: list[str | None] = []
        self._free: list[int] = []
        self._postings: dict[str, Postings] = {}
        self._by_code: dict[str, str] = {}
        self._order: list[str] | None = None
        self._rank: list[int] | None = None  # slot -> rank

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, listed: Iterable[Entry], unlisted: Iterable[str], seq: int) -> None:
        """Put new or changed entries, drop withdrawn codes, remember how far the changes go."""
        for code in unlisted:
            self._drop(code)
        grouped: dict[str, dict[str, list[int]]] = {}
        for entry in listed:
            self._drop(entry.code)
            slot = self._free.pop() if self._free else len(self._codes)
            if slot == len(self._codes):
                self._codes.append(None)
            self._codes[slot] = entry.code
            self._slot[entry.code] = slot
            self._entries[entry.code] = entry
            self._by_code[entry.folded["code"]] = entry.code
            for field_name, keys in entry.keys().items():
                field_slots = grouped.setdefault(field_name, {})
                for key in keys:
                    field_slots.setdefault(key, []).append(slot)
        for field_name, field_slots in grouped.items():
            postings = self._postings.setdefault(field_name, {})
            for key, slots in field_slots.items():
                postings[key] = postings.get(key, 0) | _bitmap(slots)
        self._order = self._rank = None
        self.seq = max(self.seq, seq)

    def _drop(self, code: str) -> None:
        old = self._entries.pop(code, None)
        if old is None:
            return
        slot = self._slot.pop(code)
        self._codes[slot] = None
        self._free.append(slot)
        self._by_code.pop(old.folded["code"], None)
        keep = ~(1 << slot)
        for field_name, keys in old.keys().items():
            postings = self._postings[field_name]
            for key in keys:
                left = postings.get(key, 0) & keep
                if left:
                    postings[key] = left
                else:
                    postings.pop(key, None)

    def _ordered(self) -> list[str]:
        """Every code, in the order ties are broken (computed once per change)."""
        if self._order is None:
            self._order = [e.code for e in sorted(self._entries.values(), key=lambda e: e.tie)]
            rank = [0] * len(self._codes)
            for i, code in enumerate(self._order):
                rank[self._slot[code]] = i
            self._rank = rank
        return self._order

    def _ranks(self) -> list[int]:
        self._ordered()
        assert self._rank is not None
        return self._rank

    def _allowed(self, query: Query) -> int:
        allowed = -1
        for field_name, value in (("agency", query.agency), ("applicant_type", query.applicant_type)):
            if value is not None:
                allowed &= self._postings.get(field_name, {}).get(value, 0)
        return allowed

    def search(self, query: Query) -> Results:
        wanted = list(dict.fromkeys(words(query.q)))
        first = (query.page - 1) * query.page_size
        if query.q.strip() and not wanted:
            return Results(items=[], total=0)
        allowed = self._allowed(query)
        if not wanted:  # everything, by name: the order is kept, no need to rank
            listed = self._ordered()
            if allowed != -1:
                kept = {self._codes[slot] for slot in _slots(allowed)}
                listed = [c for c in listed if c in kept]
            shown = listed[first : first + query.page_size]
            return Results(items=[self._entries[c].summary for c in shown], total=len(listed))
        matches = _all_of(self._postings.get("any", {}), wanted) & allowed
        if not matches:
            return Results(items=[], total=0)
        page = self._page(self._tiers(matches, wanted), first, query.page_size)
        return Results(items=[self._entries[c].summary for c in page], total=matches.bit_count())

    def _only(self, bitmap: int, keep: Callable[[Entry], bool]) -> int:
        """The slots of `bitmap` whose entry passes `keep` (the one-by-one look)."""
        entries, codes = self._entries, self._codes
        return _bitmap([s for s in _slots(bitmap) if keep(entries[codes[s] or ""])])

    def _tiers(self, matches: int, wanted: list[str]) -> Iterator[int]:
        """The matches split by tier, best first (see the module's docstring)."""
        postings = self._postings
        phrase = " ".join(wanted)
        exact = (1 << self._slot[self._by_code[phrase]]) & matches if phrase in self._by_code else 0
        prefixed = postings["code_prefix"].get(phrase, 0) & matches & ~exact
        names = (_all_of(postings["name"], wanted) | _all_of(postings["name_en"], wanted)) & matches
        names &= ~(exact | prefixed)
        long_phrase = len(wanted) > 2  # pairs and first words only prove a phrase of two words
        phrased = names
        if len(wanted) > 1:
            phrased &= _all_of(postings["name_pair"], (f"{a} {b}" for a, b in pairwise(wanted)))
            if long_phrase:
                phrased = self._only(phrased, lambda e: e.name_has(phrase))
        starting = phrased & postings["name_start"].get(f"{min(len(wanted), 2)}:{' '.join(wanted[:2])}", 0)
        if long_phrase:
            starting = self._only(starting, lambda e: e.name_has(phrase, at_start=True))
        yield from (exact, prefixed, starting, phrased & ~starting, names & ~phrased)
        # the description tiers are looked at only when the asked page reaches them
        described = _all_of(postings["description"], wanted) & matches & ~(names | exact | prefixed)
        described_phrase = self._only(described, lambda e: e.description_has(phrase))
        yield from (described_phrase, described & ~described_phrase)
        yield matches & ~(exact | prefixed | names | described)

    def _page(self, tiers: Iterator[int], skip: int, size: int) -> list[str]:
        """The codes from `skip` on, `size` of them, walking the tiers and ordering only what is shown."""
        rank = self._ranks()
        page: list[str] = []
        for tier in tiers:
            count = tier.bit_count()
            if skip >= count:
                skip -= count
                continue
            shown = heapq.nsmallest(skip + size - len(page), _slots(tier), key=rank.__getitem__)[skip:]
            page += [self._codes[slot] or "" for slot in shown]
            skip = 0
            if len(page) == size:
                break
        return page


def _bitmap(slots: Iterable[int]) -> int:
    bits = 0
    for slot in slots:
        bits |= 1 << slot
    return bits
