"""The operator and agency guides name every setting there is and link only to what exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from motcua.common.settings import ServiceSettings

from .service_settings import PORT_VARIABLES, SERVICES, settings, settings_of

GUIDES = ("operator-guide.md", "agency-guide.md")


def documented(root: Path) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (root / "docs/operator-guide.md").read_text(encoding="utf-8")))


def test_the_operator_guide_documents_every_shared_setting(root: Path) -> None:
    # The base's port is PORT; each service reads its own <SERVICE>_PORT, documented with the service.
    shared = {s.name for s in settings_of(ServiceSettings) if s.field != "port"}
    assert shared - documented(root) == set()


@pytest.mark.parametrize("service", SERVICES)
def test_the_operator_guide_documents_every_setting_of_each_service(root: Path, service: str) -> None:
    names = {s.name for s in settings(service)}
    assert names - documented(root) == set()
    assert PORT_VARIABLES[service] in names


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
