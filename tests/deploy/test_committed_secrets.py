"""No secret that would work is committed: docker-compose.yml and the Kubernetes overlays either leave a
secret empty (the service generates it, or a development key stands in where DEPLOYMENT_ENVIRONMENT is
development) or require it from whoever deploys, with a clear error when it is missing.

Anyone who reads the repository could otherwise sign in as the first admin of every stack started
without changing it, or open what a committed key sealed.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Manifest

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEYS?$|PRIVATE", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
# ${VAR} and ${VAR:?why}: the shell must set it; ${VAR:-} an empty default
FROM_THE_SHELL = re.compile(r"\$\{\w+(:\?[^}]*|:-)?\}")


def committed_values(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (service, str(name), str(value))
        for service, spec in compose["services"].items()
        for name, value in (spec.get("environment") or {}).items()
    ]


def test_compose_commits_no_secret(root: Path) -> None:
    compose = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    found = [
        f"{service}: {name}"
        for service, name, value in committed_values(compose)
        if (SECRET_NAME.search(name) and value and not FROM_THE_SHELL.fullmatch(value))
        or CREDENTIALS_IN_URL.search(value)
    ]
    assert found == []


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_the_overlays_commit_no_secret(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    found = []
    for secret in (m for m in rendered[overlay] if m["kind"] == "Secret"):
        data = {k: base64.b64decode(v).decode("utf-8") for k, v in secret.get("data", {}).items()}
        for key, value in (data | secret.get("stringData", {})).items():
            if (SECRET_NAME.search(key) and value) or CREDENTIALS_IN_URL.search(value):
                found.append(f"Secret/{secret['metadata']['name']}: {key}")
    assert found == []
