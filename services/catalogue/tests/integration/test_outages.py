"""With the broker down admins still publish (events wait); with the database down, 503 and no stack trace."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from motcua.catalogue.app import build_app
from motcua.catalogue.settings import Settings
from motcua.common import topics
from motcua.common.auth import TokenVerifier
from motcua.devtools.testing import Isolation, Stack, TokenMinter, eventually, read_events, running_app


async def test_publishing_waits_out_a_broker_outage_and_a_database_outage_answers_503(
    private_stack: Stack,
    isolation: Isolation,
    verifier: TokenVerifier,
    token_minter: TokenMinter,
    small_seed: Path,
    new_procedure: Callable[..., dict[str, Any]],
) -> None:
    settings = Settings(
        mongodb_uri=private_stack.mongodb_uri,
        mongodb_db=isolation.db_name,
        kafka_bootstrap_servers=private_stack.kafka_bootstrap,
        kafka_topic_prefix=isolation.topic_prefix,
        catalogue_seed_dir=small_seed,
        catalogue_request_db_seconds=1.0,
        log_format="console",
    )
    assert private_stack.kafka is not None
    assert private_stack.mongodb is not None
    admin = token_minter.headers(roles=["admin"])
    async with (
        running_app(build_app(settings, verifier=verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        private_stack.kafka.stop()
        assert (await http.post("/v1/procedures", json=new_procedure("TEST-05"), headers=admin)).status_code == 201
        assert (await http.post("/v1/procedures/TEST-05/publish", headers=admin)).status_code == 201
        assert (await http.get("/v1/procedures/TEST-05")).json()["version"] == 1
        assert (await http.get("/readyz")).status_code == 503

        private_stack.kafka.start()
        topic = isolation.topic_prefix + topics.CATALOGUE_PROCEDURE
        events = await read_events(private_stack.kafka_bootstrap, topic, count=2, timeout=40)
        assert sorted(e.subject for e in events) == ["SEED-01", "TEST-05"]

        private_stack.mongodb.kill()
        for path in ("/v1/procedures?q=thu+nghiem", "/v1/procedures/TEST-05"):
            down = await http.get(path)
            assert down.status_code == 503
            assert down.elapsed.total_seconds() < 5
            assert down.headers["content-type"] == "application/problem+json"
            assert "Traceback" not in down.text
        private_stack.mongodb.start()

        async def back() -> Any:
            search = await http.get("/v1/procedures", params={"q": "thu nghiem"})
            current = await http.get("/v1/procedures/TEST-05")
            return search.status_code == current.status_code == 200 and (search.json(), current.json())

        found, current = await eventually(back, timeout=60)
        assert [item["code"] for item in found["items"]] == ["TEST-05"]
        assert current["version"] == 1
