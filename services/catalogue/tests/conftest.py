"""Fixtures of the catalogue's tests: settings on the run's servers, a running catalogue, a small seed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from motcua.catalogue.app import build_app
from motcua.catalogue.settings import Settings
from motcua.common.auth import TokenVerifier
from motcua.devtools.testing import Isolation, Stack, TokenMinter, running_app

SEED = Path(__file__).parents[1] / "src/motcua/catalogue/seed"


def create_procedure(code: str = "TEST-01", **changes: Any) -> dict[str, Any]:
    """A valid procedure body (admin create), with `changes` applied."""
    body: dict[str, Any] = {
        "code": code,
        "name": "Cấp giấy phép thử nghiệm",
        "name_en": "Trial permit",
        "description": "Thủ tục dùng để kiểm thử danh mục.",
        "description_en": "A procedure for testing the catalogue.",
        "agency_code": "UBND-XA",
        "applicant_types": ["individual"],
        "online_level": "full",
        "processing_days": 3,
        "fee_vnd": 15000,
        "legal_basis": ["Luật thử nghiệm số 1/2025/QH15"],
        "required_documents": [
            {
                "key": "id_card",
                "name": "Thẻ căn cước",
                "name_en": "Identity card",
                "required": True,
                "accepted_types": ["application/pdf", "image/jpeg"],
                "max_size_mb": 5,
            }
        ],
        "form_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
                "sex": {"type": "string", "enum": ["male", "female"]},
            },
            "required": ["full_name"],
            "additionalProperties": False,
        },
        "ui_schema": {
            "order": ["full_name", "sex"],
            "fields": {
                "full_name": {"label": "Họ và tên", "label_en": "Full name", "widget": "text"},
                "sex": {
                    "widget": "select",
                    "options": [{"value": "male", "label": "Nam"}, {"value": "female", "label": "Nữ"}],
                },
            },
        },
    }
    body.update(changes)
    return body


def write_seed(directory: Path, procedures: list[dict[str, Any]], agencies: list[dict[str, Any]] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    agencies = agencies or json.loads((SEED / "agencies.json").read_text(encoding="utf-8"))
    (directory / "agencies.json").write_text(json.dumps(agencies, ensure_ascii=False), encoding="utf-8")
    (directory / "procedures.json").write_text(json.dumps(procedures, ensure_ascii=False), encoding="utf-8")
    return directory


ProcedureFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def new_procedure() -> ProcedureFactory:
    """`create_procedure`, for tests (conftest modules cannot be imported under importlib mode)."""
    return create_procedure


@pytest.fixture
def small_seed(tmp_path: Path) -> Path:
    """The real agencies and one procedure of our own."""
    body = create_procedure("SEED-01", name="Đăng ký hạt giống", name_en="Seed registration")
    return write_seed(tmp_path / "seed", [body])


@pytest.fixture
def settings_for(stack: Stack, isolation: Isolation) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mongodb_uri": stack.mongodb_uri,
            "mongodb_db": isolation.db_name,
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "kafka_topic_prefix": isolation.topic_prefix,
            "log_format": "console",
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture
def verifier(token_minter: TokenMinter) -> TokenVerifier:
    return TokenVerifier(issuer=token_minter.issuer, audience=token_minter.audience, jwks=token_minter.jwks)


@pytest.fixture
async def catalogue(settings_for: Callable[..., Settings], verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    """The catalogue with the real seed, served over HTTP; the client's base URL points at it."""
    async with (
        running_app(build_app(settings_for(), verifier=verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=20) as http,
    ):
        yield http


@pytest.fixture
async def small_catalogue(
    settings_for: Callable[..., Settings], verifier: TokenVerifier, small_seed: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The catalogue seeded with two procedures (`small_seed`), served over HTTP."""
    app = build_app(settings_for(catalogue_seed_dir=small_seed), verifier=verifier)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
        yield http
