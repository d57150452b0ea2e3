"""The operator and agency guides name every setting there is and link only to what exists."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from motcua.common.settings import ServiceSettings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

SERVICES = ("gateway", "identity", "catalogue", "submission", "notification")
GUIDES = ("operator-guide.md", "agency-guide.md")


def variables(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if name == "service_name":
            continue
        if isinstance(alias, AliasChoices):
            names.add(next(str(c) for c in alias.choices if str(c).lower() != "port").upper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        elif name != "port":  # the base's port: each service reads its own <SERVICE>_PORT
            names.add(name.upper())
    return names


def documented(root: Path) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (root / "docs/operator-guide.md").read_text(encoding="utf-8")))


def test_the_operator_guide_documents_every_shared_setting(root: Path) -> None:
    assert variables(ServiceSettings) - documented(root) == set()


@pytest.mark.parametrize("service", SERVICES)
def test_the_operator_guide_documents_every_setting_of_each_service(root: Path, service: str) -> None:
    try:
        module = importlib.import_module(f"motcua.{service}.settings")
    except ModuleNotFoundError:
        pytest.skip(f"motcua.{service} has no settings module yet")
    settings = module.Settings
    assert variables(settings) - documented(root) == set()
    assert f"{service.upper()}_PORT" in variables(settings)


def test_the_operator_guide_documents_every_variable_the_deployments_set(
    root: Path, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    compose = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    names = {name for s in SERVICES for name in compose["services"][s]["environment"]}
    for manifests in rendered.values():
        for m in manifests:
            if m["kind"] == "Deployment" and m["metadata"]["name"] in SERVICES:
                names |= {e["name"] for e in m["spec"]["template"]["spec"]["containers"][0]["env"]}
            if m["kind"] == "ConfigMap" or (m["kind"] == "Secret" and "providers" in m["metadata"]["name"]):
                names |= set(m.get("data", {}))
    assert names - documented(root) == set()


@pytest.mark.parametrize("guide", GUIDES)
def test_the_guides_link_only_to_files_that_exist(root: Path, guide: str) -> None:
    text = (root / "docs" / guide).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith(("http://", "https://")):
            assert (root / "docs" / target).exists(), f"{guide} links to {target}"


def test_the_documented_replay_command_exists(root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "motcua.common.outbox", "replay", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--service", "--since", "--topic"):
        assert option in result.stdout
    assert "python -m motcua.common.outbox replay --service submission --since" in (
        (root / "docs/operator-guide.md").read_text(encoding="utf-8")
    )
