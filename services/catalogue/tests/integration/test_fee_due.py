"""When a procedure's fee is paid (issue 21): `fee_due` is at_submission unless said, at_result when the result is
what the fee pays for; it is validated (422 naming it), published in ProcedurePublished, and set in the seed
where the fee is paid when the result is received."""

from collections.abc import Callable
from typing import Any

import httpx
from motcua.common import topics
from motcua.devtools.testing import Isolation, Stack, TokenMinter, read_events

from .test_publishing import problem_pointers


async def test_a_bad_fee_due_is_refused_with_422_naming_it(
    small_catalogue: httpx.AsyncClient, token_minter: TokenMinter, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    admin = token_minter.headers(roles=["admin"])
    good = new_procedure("FEE-01")
    for change in (
        {"fee_due": "on_delivery"},
        {"fee_due": 1},
        {"fee_due": None},
        {"fee_due": "at_result", "fee_vnd": 0},
    ):
        response = await small_catalogue.post("/v1/procedures", json={**good, **change}, headers=admin)
        assert problem_pointers(response) == ["/fee_due"], change
    assert (await small_catalogue.get("/v1/procedures/FEE-01/draft", headers=admin)).status_code == 404
    draft = {k: v for k, v in good.items() if k != "code"}
    refused = await small_catalogue.put(
        "/v1/procedures/SEED-01/draft", json={**draft, "fee_due": "later"}, headers=admin
    )
    assert problem_pointers(refused) == ["/fee_due"]


async def test_a_fee_paid_at_result_is_published_for_submission_to_read(
    small_catalogue: httpx.AsyncClient,
    token_minter: TokenMinter,
    stack: Stack,
    isolation: Isolation,
    new_procedure: Callable[..., dict[str, Any]],
) -> None:
    admin = token_minter.headers(roles=["admin"])
    created = await small_catalogue.post(
        "/v1/procedures", json=new_procedure("FEE-02", fee_due="at_result"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["draft"]["fee_due"] == "at_result"
    assert (await small_catalogue.post("/v1/procedures/FEE-02/publish", headers=admin)).status_code == 201
    shown = (await small_catalogue.get("/v1/procedures/FEE-02")).json()
    assert (shown["fee_vnd"], shown["fee_due"]) == (15000, "at_result")
    assert (await small_catalogue.get("/v1/procedures/SEED-01")).json()["fee_due"] == "at_submission"
    events = await read_events(stack.kafka_bootstrap, isolation.topic_prefix + topics.CATALOGUE_PROCEDURE, count=2)
    [published] = [e for e in events if e.subject == "FEE-02"]
    assert published.data.fee_due == "at_result"  # type: ignore[attr-defined]


async def test_the_seed_has_fees_paid_at_result_where_the_result_is_what_is_paid_for(
    catalogue: httpx.AsyncClient,
) -> None:
    for code in ("GPXD-NORL-01", "DD-GCN-01"):  # the construction permit and the land-use certificate
        shown = (await catalogue.get(f"/v1/procedures/{code}")).json()
        assert shown["fee_due"] == "at_result", code
        assert shown["fee_vnd"] > 0
    assert (await catalogue.get("/v1/procedures/HT-TTHN-01")).json()["fee_due"] == "at_submission"
