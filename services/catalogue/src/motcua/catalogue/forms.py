"""Rules for a procedure's form: a valid JSON Schema 2020-12 object, and UI hints that match it.

Every problem carries a JSON pointer into the request body, so an editor can show it beside the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from motcua.common.errors import FieldProblem, pointer

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_FORM_BYTES = 64 * 1024
MAX_DEPTH = 16
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
_CHOICE_WIDGETS = frozenset({"select", "radio"})


def _pointer(base: str, *parts: object) -> str:
    return base + pointer(*parts)


def _depth(node: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)


def _refs(node: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef"):
                yield (*path, key), value
            yield from _refs(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, (*path, i))


def schema_problems(schema: dict[str, Any], base: str = "/form_schema") -> list[FieldProblem]:
    """Whether `schema` is a JSON Schema 2020-12 for an object of named fields, safe to validate with.

    Checking against the meta-schema costs milliseconds; procedures often share a form, so the answer
    is remembered per distinct schema (a seed of thousands of procedures loads in seconds).
    """
    canonical = json.dumps(schema, separators=(",", ":"))
    if len(canonical.encode()) > MAX_FORM_BYTES:
        return [FieldProblem(base, f"is larger than {MAX_FORM_BYTES // 1024} KiB")]
    return list(_schema_problems(canonical, base))


@lru_cache(maxsize=1024)
def _schema_problems(canonical: str, base: str) -> tuple[FieldProblem, ...]:
    return tuple(_checked(json.loads(canonical), base))


def _checked(schema: dict[str, Any], base: str) -> list[FieldProblem]:
    if _depth(schema) > MAX_DEPTH:
        return [FieldProblem(base, f"nests deeper than {MAX_DEPTH} levels")]
    found = [
        FieldProblem(_pointer(base, *error.absolute_path), error.message)
        for error in sorted(_META.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))[:20]
    ]
    if found:
        return found
    if schema.get("$schema", DIALECT) != DIALECT:
        found.append(FieldProblem(_pointer(base, "$schema"), f"must be {DIALECT} (or left out)"))
    if schema.get("type") != "object":
        found.append(FieldProblem(_pointer(base, "type"), 'must be "object": a form is an object of fields'))
    properties = schema.get("properties", {})
    for name in properties:
        if not FIELD_NAME.match(name):
            found.append(
                FieldProblem(_pointer(base, "properties", name), "a field name is lower-case letters, digits and _")
            )
    for i, name in enumerate(schema.get("required", [])):
        if name not in properties:
            found.append(FieldProblem(_pointer(base, "required", i), f"{name!r} is not one of the properties"))
    for path, ref in _refs(schema):
        if not isinstance(ref, str) or not ref.startswith("#"):
            found.append(FieldProblem(_pointer(base, *path), "only references inside the form (#…) are allowed"))
    for path, node in _date_bounded(schema):
        found += date_bound_problems(node, _pointer(base, *path))
    return found


# the keyword of our own that bounds a date relative to the day of submission (docs/catalogue.md)
DATE_KEYWORD = "x-motcua-date"
DATE_BOUNDS = ("not_before", "not_after")
MAX_OFFSET_DAYS = 366 * 150
# keywords whose value maps names to schemas (the names are not keywords)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def _date_bounded(node: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], dict[str, Any]]]:
    """Each (sub)schema of the form that uses the date keyword, with its path."""
    if isinstance(node, dict):
        if DATE_KEYWORD in node:
            yield path, node
        for key, value in node.items():
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                for name, sub in value.items():
                    yield from _date_bounded(sub, (*path, key, name))
            elif key != DATE_KEYWORD:
                yield from _date_bounded(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _date_bounded(value, (*path, i))


def bound_offset(bound: Any) -> int | None:
    """A bound's days from today ("today" is 0); None when it is neither "today" nor a whole number of days."""
    if bound == "today":
        return 0
    if isinstance(bound, int) and not isinstance(bound, bool) and abs(bound) <= MAX_OFFSET_DAYS:
        return bound
    return None


def date_bound_problems(node: dict[str, Any], where: str) -> list[FieldProblem]:
    """`x-motcua-date` is {"not_before": b, "not_after": b}, at least one, each b "today" or days from today
    (-60: sixty days ago), on a field of `"type": "string", "format": "date"`, the earlier bound first."""
    keyword = _pointer(where, DATE_KEYWORD)
    value = node[DATE_KEYWORD]
    if node.get("type") != "string" or node.get("format") != "date":
        return [FieldProblem(keyword, 'bounds only a field of "type": "string" with "format": "date"')]
    if not isinstance(value, dict) or not value or set(value) - set(DATE_BOUNDS):
        return [FieldProblem(keyword, 'must be an object with "not_before", "not_after" or both')]
    found = [
        FieldProblem(_pointer(keyword, name), f'must be "today" or a whole number of days (at most {MAX_OFFSET_DAYS})')
        for name, bound in value.items()
        if bound_offset(bound) is None
    ]
    low, high = (bound_offset(value.get(name)) for name in DATE_BOUNDS)
    if not found and low is not None and high is not None and low > high:
        found.append(FieldProblem(_pointer(keyword, "not_before"), "is later than not_after: no date would do"))
    return found


def ui_problems(ui: dict[str, Any], properties: dict[str, Any], base: str = "/ui_schema") -> list[FieldProblem]:
    """UI hints may be partial, but each must name a real field, and choices must be allowed values."""
    found: list[FieldProblem] = []
    seen: set[str] = set()
    for i, name in enumerate(ui.get("order", [])):
        if name not in properties:
            found.append(FieldProblem(_pointer(base, "order", i), f"{name!r} is not a field of the form"))
        elif name in seen:
            found.append(FieldProblem(_pointer(base, "order", i), f"{name!r} is listed twice"))
        seen.add(name)
    for name, hints in ui.get("fields", {}).items():
        options = hints.get("options")
        if name in properties and options is None:
            continue
        where = _pointer(base, "fields", name)
        if name not in properties:
            found.append(FieldProblem(where, f"{name!r} is not a field of the form"))
            continue
        if hints.get("widget") not in _CHOICE_WIDGETS:
            found.append(FieldProblem(_pointer(where, "options"), "options need the widget select or radio"))
        allowed = properties[name].get("enum") if isinstance(properties[name], dict) else None
        for j, option in enumerate(options):
            if allowed is not None and option["value"] not in allowed:
                found.append(FieldProblem(_pointer(where, "options", j, "value"), "is not one of the field's enum"))
    return found


def form_problems(schema: dict[str, Any], ui: dict[str, Any]) -> list[FieldProblem]:
    """Every problem of a form and its UI hints; the UI is only checked against a valid schema."""
    found = schema_problems(schema)
    if found:
        return found
    return ui_problems(ui, schema.get("properties", {}))
