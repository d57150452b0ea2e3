import asyncio

import httpx
from fastapi import APIRouter
from motcua.common import errors
from motcua.common.auth import CurrentPrincipal, Officer, TokenVerifier
from motcua.common.settings import ServiceSettings
from motcua.common.web import create_app
from motcua.devtools.testing import Isolation, Stack, TokenMinter, eventually, running_app
from pydantic import BaseModel
from structlog.testing import capture_logs


def _demo_app(mongodb_uri: str, kafka: str, isolation: Isolation, minter: TokenMinter | None = None):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/demo/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret internals: password=hunter2")

    @router.get("/demo/missing")
    async def missing() -> dict[str, str]:
        raise errors.NotFound("No application with that id.")

    @router.get("/demo/limited")
    async def limited() -> dict[str, str]:
        raise errors.TooManyRequests("Slow down.", retry_after=42)

    class Greeting(BaseModel):
        name: str

    @router.post("/demo/greetings")
    async def greet(greeting: Greeting) -> dict[str, str]:
        return {"hello": greeting.name}

    @router.get("/demo/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.sub}

    @router.get("/demo/officer")
    async def officer(principal: Officer) -> dict[str, str | None]:
        return {"agency": principal.agency}

    settings = ServiceSettings(
        service_name="demo",
        mongodb_uri=mongodb_uri,
        mongodb_db=isolation.db_name,
        kafka_bootstrap_servers=kafka,
        kafka_topic_prefix=isolation.topic_prefix,
    )
    verifier = TokenVerifier(issuer=minter.issuer, audience=minter.audience, jwks=minter.jwks) if minter else None
    return create_app(settings, title="demo", routers=[router], verifier=verifier)


async def test_a_route_that_raises_answers_problem_details_with_the_request_id_and_no_stack_trace(
    stack: Stack, isolation: Isolation
) -> None:
    app = _demo_app(stack.mongodb_uri, stack.kafka_bootstrap, isolation)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        with capture_logs() as logs:
            response = await http.get("/demo/boom", headers={"X-Request-ID": "req-abc-123"})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"] == "req-abc-123"
        body = response.json()
        assert body["status"] == 500
        assert body["request_id"] == "req-abc-123"
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text
        assert any(entry["event"] == "request_failed" for entry in logs)

        missing = await http.get("/demo/missing")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "No application with that id."
        assert len(missing.headers["x-request-id"]) >= 16

        limited = await http.get("/demo/limited")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "42"

        unknown = await http.get("/no/such/route")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"

        # a body that is not JSON, not UTF-8, or of the wrong shape: 422 problem details naming the body
        for content in (b"{not json", b'{"name": "B\xecnh"}', b"[1, 2]", b'{"name": 7}'):
            bad = await http.post("/demo/greetings", content=content, headers={"Content-Type": "application/json"})
            assert bad.status_code == 422, (content, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["location"] == "body", bad.text
        good = await http.post("/demo/greetings", json={"name": "Bình"})
        assert good.json() == {"hello": "Bình"}

        assert (await http.get("/healthz")).json() == {"status": "ok"}
        metrics = await http.get("/metrics")
        assert "http_requests_total" in metrics.text


async def test_routes_need_a_valid_token_of_the_right_role(
    stack: Stack, isolation: Isolation, token_minter: TokenMinter
) -> None:
    app = _demo_app(stack.mongodb_uri, stack.kafka_bootstrap, isolation, token_minter)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/demo/me")).status_code == 401
        ok = await http.get("/demo/me", headers=token_minter.headers("acc-7"))
        assert ok.json() == {"sub": "acc-7"}
        assert (await http.get("/demo/officer", headers=token_minter.headers("acc-7"))).status_code == 403
        officer = await http.get("/demo/officer", headers=token_minter.headers("o-1", roles=["officer"], agency="BTP"))
        assert officer.json() == {"agency": "BTP"}


async def test_readyz_fails_while_mongodb_is_stopped_and_recovers_without_a_restart(
    private_stack: Stack, isolation: Isolation
) -> None:
    app = _demo_app(private_stack.mongodb_uri, private_stack.kafka_bootstrap, isolation)
    assert private_stack.mongodb is not None
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await eventually(ready)
        await asyncio.to_thread(private_stack.mongodb.stop)
        down = await http.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["mongodb"] is False
        await asyncio.to_thread(private_stack.mongodb.start)
        await eventually(ready, timeout=30)


async def test_with_command_counts_on_metrics_lists_the_database_commands_the_service_sent(
    stack: Stack, isolation: Isolation
) -> None:
    settings = ServiceSettings(
        service_name="demo",
        mongodb_uri=stack.mongodb_uri,
        mongodb_db=isolation.db_name,
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        kafka_topic_prefix=isolation.topic_prefix,
        mongodb_command_counts=True,
    )
    app = create_app(settings, title="demo", routers=[])
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        await http.get("/readyz")  # pings the database
        await app.state.runtime.db["things"].find_one({"_id": "none"})
        metrics = (await http.get("/metrics")).text
    assert 'motcua_mongodb_commands_total{collection="",command="ping"}' in metrics
    assert 'motcua_mongodb_commands_total{collection="things",command="find"} 1.0' in metrics
