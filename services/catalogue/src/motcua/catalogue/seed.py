"""The seed: agencies and procedures the catalogue starts with, read and checked before serving.

A seed with any bad entry is refused as a whole, listing every problem, so the service does not
start half-seeded; `build_app` loads it, so `python -m motcua.catalogue` exits on a bad seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from motcua.catalogue.model import Agency, ProcedureCreate, problems_in
from pydantic import ValidationError

AGENCIES_FILE = "agencies.json"
PROCEDURES_FILE = "procedures.json"


class SeedError(Exception):
    """The seed cannot be loaded; the message lists every problem found."""


@dataclass(frozen=True)
class Seed:
    agencies: list[Agency]
    procedures: list[ProcedureCreate]


def default_directory() -> Traversable:
    return resources.files("motcua.catalogue") / "seed"


def _read(directory: Traversable | Path, name: str) -> list[Any]:
    path = directory / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"{name}: cannot be read as JSON: {exc}") from exc
    if not isinstance(data, list):
        raise SeedError(f"{name}: must be a JSON list")
    return data


def _errors(exc: ValidationError) -> list[str]:
    return ["/" + "/".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors(include_url=False)]


def _label(item: Any, i: int) -> str:
    code = item.get("code") if isinstance(item, dict) else None
    return f"[{i}]" + (f" ({code})" if code else "")


def _agencies(raw: list[Any], problems: list[str]) -> list[Agency]:
    agencies: list[Agency] = []
    for i, item in enumerate(raw):
        try:
            agencies.append(Agency.model_validate(item, strict=False))
        except ValidationError as exc:
            problems += [f"{AGENCIES_FILE}{_label(item, i)} {e}" for e in _errors(exc)]
    codes = [a.code for a in agencies]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    problems += [f"{AGENCIES_FILE}: the code {c} is used twice" for c in twice]
    return agencies


def _procedures(raw: list[Any], agency_codes: set[str], problems: list[str]) -> list[ProcedureCreate]:
    procedures: list[ProcedureCreate] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{PROCEDURES_FILE}{_label(item, i)}"
        try:
            procedure = ProcedureCreate.model_validate(item, strict=False)
        except ValidationError as exc:
            problems += [f"{where} {e}" for e in _errors(exc)]
            continue
        problems += [f"{where} {p.pointer}: {p.message}" for p in problems_in(procedure)]
        if procedure.agency_code not in agency_codes:
            problems.append(f"{where} /agency_code: {procedure.agency_code} is not in {AGENCIES_FILE}")
        if procedure.code in seen:
            problems.append(f"{where} /code: {procedure.code} is used twice")
        seen.add(procedure.code)
        procedures.append(procedure)
    return procedures


def load_seed(directory: Traversable | Path | None = None) -> Seed:
    """Read and check a seed directory (default: the package's); SeedError lists all its problems."""
    where = directory if directory is not None else default_directory()
    problems: list[str] = []
    agencies = _agencies(_read(where, AGENCIES_FILE), problems)
    procedures = _procedures(_read(where, PROCEDURES_FILE), {a.code for a in agencies}, problems)
    if problems:
        shown = "\n  ".join(problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise SeedError(f"the catalogue seed in {where} is refused:\n  {shown}{more}")
    return Seed(agencies=agencies, procedures=procedures)
