"""The seed is published once, whatever replicas start together or restart; replicas search alike."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from motcua.catalogue.app import build_app
from motcua.catalogue.seed import SeedError
from motcua.catalogue.settings import Settings
from motcua.common import mongo, topics
from motcua.common.auth import TokenVerifier
from motcua.devtools.testing import Isolation, Stack, TokenMinter, read_events, running_app

PUBLISHED = "motcua.catalogue.ProcedurePublished.v1"


async def codes(http: httpx.AsyncClient, q: str) -> list[str]:
    return [item["code"] for item in (await http.get("/v1/procedures", params={"q": q})).json()["items"]]


async def test_replicas_starting_together_and_restarting_publish_each_seed_procedure_once(
    settings_for: Callable[..., Settings],
    verifier: TokenVerifier,
    stack: Stack,
    isolation: Isolation,
    mongo_client: mongo.Client,
    token_minter: TokenMinter,
    new_procedure: Callable[..., dict[str, Any]],
) -> None:
    settings = settings_for(catalogue_seed_batch=10)
    seeded = json.loads(
        (Path(__file__).parents[2] / "src/motcua/catalogue/seed/procedures.json").read_text(encoding="utf-8")
    )
    replicas = [running_app(build_app(settings, verifier=verifier)) for _ in range(2)]
    url_a, url_b = await asyncio.gather(*(r.__aenter__() for r in replicas))
    try:
        async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
            assert (await a.get("/v1/procedures")).json()["total"] == len(seeded)
            assert (await b.get("/v1/procedures")).json()["total"] == len(seeded)

            admin = token_minter.headers(roles=["admin"])
            assert (await a.post("/v1/procedures", json=new_procedure("TEST-04"), headers=admin)).status_code == 201
            assert (await a.post("/v1/procedures/TEST-04/publish", headers=admin)).status_code == 201
            assert await codes(b, "giấy phép thử nghiệm") == ["TEST-04"]
            assert (await b.post("/v1/procedures/TEST-04/retire", headers=admin)).status_code == 200
            assert await codes(a, "giấy phép thử nghiệm") == []
    finally:
        for replica in replicas:
            await replica.__aexit__(None, None, None)

    async with running_app(build_app(settings, verifier=verifier)) as url, httpx.AsyncClient(base_url=url) as c:
        assert (await c.get("/v1/procedures")).json()["total"] == len(seeded)
        assert (await c.get("/v1/procedures/TEST-04")).status_code == 410

    outbox = mongo_client[isolation.db_name]["outbox"]
    assert await outbox.count_documents({"type": PUBLISHED}) == len(seeded) + 1
    topic = isolation.topic_prefix + topics.CATALOGUE_PROCEDURE
    events = await read_events(stack.kafka_bootstrap, topic, count=len(seeded) + 1, types={PUBLISHED})
    assert sorted(e.subject for e in events) == sorted([p["code"] for p in seeded] + ["TEST-04"])


async def test_a_bad_seed_stops_the_service_before_it_serves(
    settings_for: Callable[..., Settings], tmp_path: Path, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    (tmp_path / "agencies.json").write_text('[{"code": "A", "name": "x", "name_en": "x", "level": "commune"}]')
    (tmp_path / "procedures.json").write_text(json.dumps([new_procedure("BAD-01", fee_vnd=-1)]))
    with pytest.raises(SeedError, match="BAD-01"):
        build_app(settings_for(catalogue_seed_dir=tmp_path))
