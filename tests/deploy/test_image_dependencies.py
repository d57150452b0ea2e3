"""A service image carries the services and what they import, never the development and test tooling."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    "motcua-identity",
    "motcua-catalogue",
    "motcua-submission",
    "motcua-notification",
    "motcua-gateway",
    "motcua-webhooks",
]
TOOLING = {"motcua-devtools", "pytest", "pytest-asyncio", "testcontainers", "aiosmtpd", "mypy", "ruff", "playwright"}


def runtime_closure(lock: dict[str, object], roots: list[str]) -> set[str]:
    """Every package the lockfile installs for `roots` without dev groups (what `uv sync --no-dev` installs)."""
    packages = {p["name"]: p for p in lock["package"]}  # type: ignore[attr-defined]
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        package = packages[name]
        todo += [d["name"] for d in package.get("dependencies", [])]
        for extra in package.get("optional-dependencies", {}).values():
            todo += [d["name"] for d in extra if name == "uvicorn"]  # uvicorn[standard] is asked for
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_installs_without_any_test_or_development_tool(service: str) -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    installed = runtime_closure(lock, [service])
    assert {"motcua-common", "fastapi", "pymongo", "aiokafka"} <= installed
    assert installed & TOOLING == set()
