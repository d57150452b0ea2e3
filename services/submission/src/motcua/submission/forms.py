"""The form a citizen fills: JSON merge patch (RFC 7396), size bounds, and validation against the
procedure's JSON Schema — partial while drafting, complete at submission, when the dates a procedure
bounds relative to today (its `x-motcua-date` keyword, docs/catalogue.md) are checked too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from motcua.common.errors import FieldProblem, pointer

MAX_DEPTH = 8
MAX_STRING = 10_000
MAX_KEY = 100
INT64 = 2**63
_KEY = re.compile(r"^[^$.\x00][^.\x00]*$")
# While drafting only the shape is checked: a half-typed date or a missing field is normal in a draft.
_DRAFT_KEYWORDS = frozenset({"type", "additionalProperties"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, `null` removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _value_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -INT64 <= value < INT64:
        return "number out of range"
    if isinstance(value, str) and len(value) > MAX_STRING:
        return f"text longer than {MAX_STRING} characters"
    return None


def bounds_problems(data: dict[str, Any], *, max_bytes: int) -> list[FieldProblem]:
    """What MongoDB or a sane form cannot hold: huge, deep, odd keys, integers beyond 64 bits."""
    problems: list[FieldProblem] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if len(problems) >= 20:
            return
        if len(path) > MAX_DEPTH:
            problems.append(FieldProblem(pointer(*path), f"nested deeper than {MAX_DEPTH} levels"))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _KEY.match(key) and len(key) <= MAX_KEY:
                    walk(item, (*path, key))
                else:
                    problems.append(
                        FieldProblem(
                            pointer(*path, key),
                            f"field names may not start with '$' or contain '.', and have at most {MAX_KEY} characters",
                        )
                    )
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))
        elif (message := _value_problem(value)) is not None:
            problems.append(FieldProblem(pointer(*path), message))

    walk(data, ("data",))
    if not problems and len(json.dumps(data, ensure_ascii=False).encode()) > max_bytes:
        problems.append(FieldProblem("/data", f"the form is larger than {max_bytes // 1024} KiB"))
    return problems


DATE_KEYWORD = "x-motcua-date"
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bound_day(bound: Any, today: date) -> date | None:
    """The day a bound names: "today", or a number of days from today (-60: sixty days ago)."""
    if bound == "today":
        return today
    if isinstance(bound, int) and not isinstance(bound, bool):
        return today + timedelta(days=bound)
    return None


def _dated_validator(today: date) -> type[Validator]:
    """Draft 2020-12 plus `x-motcua-date`, judged against `today` (the Vietnam day of the submission)."""

    def bounded(_: Validator, bounds: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        if not isinstance(bounds, dict) or not isinstance(instance, str) or not _FULL_DATE.match(instance):
            return
        try:
            day = date.fromisoformat(instance)
        except ValueError:
            return  # "format": "date" says what is wrong with it
        low, high = bound_day(bounds.get("not_before"), today), bound_day(bounds.get("not_after"), today)
        if low is not None and day < low:
            yield ValidationError(f"must not be before {low.isoformat()} (today in Vietnam is {today.isoformat()})")
        if high is not None and day > high:
            yield ValidationError(f"must not be after {high.isoformat()} (today in Vietnam is {today.isoformat()})")

    extended: type[Validator] = validators.extend(Draft202012Validator, {DATE_KEYWORD: bounded})
    return extended


@lru_cache(maxsize=256)
def _validator(schema_json: str, today: date | None) -> Validator:
    cls: type[Validator] = Draft202012Validator if today is None else _dated_validator(today)
    return cls(json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validator(schema: dict[str, Any], today: date | None = None) -> Validator:
    """A validator of `schema`; with `today`, the dates it bounds are judged against that day."""
    return _validator(json.dumps(schema, sort_keys=True), today)


def _problems_of(error: ValidationError) -> list[FieldProblem]:
    path = ("data", *error.absolute_path)
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        return [
            FieldProblem(pointer(*path, name), "required") for name in error.validator_value if name not in instance
        ]
    if error.validator == "additionalProperties":
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [
            FieldProblem(pointer(*path, name), "not a field of this form") for name in instance if name not in declared
        ]
    return [FieldProblem(pointer(*path), error.message[:300])]


def form_problems(
    schema: dict[str, Any], data: dict[str, Any], *, complete: bool, today: date | None = None
) -> list[FieldProblem]:
    """Every problem of `data` against the schema; while drafting (`complete=False`) only its shape.
    With `today` (at submission) the dates the schema bounds relative to today are checked against it."""
    found: dict[str, FieldProblem] = {}
    for error in validator(schema, today if complete else None).iter_errors(data):
        if not complete and error.validator not in _DRAFT_KEYWORDS:
            continue
        for problem in _problems_of(error):
            found.setdefault(problem.pointer, problem)
    return sorted(found.values(), key=lambda p: p.pointer)
