"""Rate limits are counted in MongoDB, so replicas share them; a broken procedure is dead-lettered."""

import json
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from motcua.common import topics
from motcua.common.clock import now
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.devtools.testing import topic_partitions
from structlog.testing import capture_logs


async def test_lookups_are_limited_per_address_across_replicas_and_no_token_is_logged(
    launch: Any, samples: Any
) -> None:
    limits = {"lookup_limit": 3, "draft_limit": 2, "upload_limit": 2, "log_level": "INFO"}
    # Both replicas count in the same windows for the whole test: the windows' clock stands still, so no
    # window boundary falls between the requests (fixed windows restart at each boundary).
    moment = now()
    frozen = {"window_clock": lambda: moment}
    async with launch(**limits, **frozen) as first, launch(**limits, **frozen) as second:
        procedure = samples.birth_registration()
        await first.catalogue_publishes(procedure)
        who = first.citizen()
        token = who["Authorization"].split()[1]
        with capture_logs() as logs:
            app_id = await first.ready_to_submit(who, procedure.code)
            code = (await first.submit(who, app_id)).json()["tracking_code"]
            await first.http.get("/v1/applications", headers={"Authorization": "Bearer forged.token.value"})
        logged = json.dumps(logs, default=str)
        assert any(entry.get("application_id") == app_id for entry in logs)
        assert token not in logged
        assert "forged.token.value" not in logged

        visitor = {"X-Forwarded-For": "203.0.113.7"}
        answers = [await replica.http.get(f"/v1/lookup/{code}", headers=visitor) for replica in (first, second, first)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert set(answers[0].json()) == {
            "tracking_code",
            "procedure_code",
            "status",
            "submitted_at",
            "due_date",
            "updated_at",
        }
        limited = await second.http.get(f"/v1/lookup/{code}", headers=visitor)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        assert limited.headers["content-type"] == "application/problem+json"
        # Another address is not held back; a wrong code looks like an unknown one.
        neighbour = {"X-Forwarded-For": "198.51.100.9"}
        assert (await first.http.get(f"/v1/lookup/{code}", headers=neighbour)).status_code == 200
        assert (await first.http.get("/v1/lookup/HS-2611-AAAA-AAAA", headers=neighbour)).status_code == 404
        counters = await first.db["rate_limits"].find().to_list()
        assert counters
        assert "203.0.113.7" not in json.dumps(counters, default=str)

        # A second draft per window is fine, the third is not; one upload allowed past the first.
        assert (
            await second.http.post("/v1/applications", json={"procedure_code": procedure.code}, headers=who)
        ).status_code == 201
        third = await first.http.post("/v1/applications", json={"procedure_code": procedure.code}, headers=who)
        assert third.status_code == 429
        draft_id = (await first.http.get("/v1/applications?status=draft", headers=who)).json()["items"][0]["id"]
        assert (await second.upload(who, draft_id, "birth_certificate_medical", samples.PDF)).status_code == 201
        assert (await first.upload(who, draft_id, "birth_certificate_medical", samples.PDF)).status_code == 429


async def test_a_procedure_submission_cannot_use_is_dead_lettered(launch: Any, samples: Any) -> None:
    async with launch(consumer_max_attempts=1) as service:
        good = samples.birth_registration()
        broken = ProcedurePublished.model_validate(
            {
                **samples.birth_registration().model_dump(),
                "form_schema": {"type": 12},
                "published_at": datetime.now(UTC),
            }
        )
        await service.publish(broken)
        await service.catalogue_publishes(good)  # consumed after the broken one: the consumer went on

        dead = service.topic(topics.dead_letter(topics.CATALOGUE_PROCEDURE))
        reader = AIOKafkaConsumer(
            bootstrap_servers=service.settings.kafka_bootstrap_servers, group_id=None, auto_offset_reset="earliest"
        )
        await reader.start()
        try:
            reader.assign(await topic_partitions(reader, dead))
            await reader.seek_to_beginning()
            records = []
            for _ in range(50):
                records += [r for rs in (await reader.getmany(timeout_ms=100)).values() for r in rs]
                if records:
                    break
        finally:
            await reader.stop()
        assert [r.key for r in records] == [broken.code.encode()]
        assert b"not JSON Schema" in dict(records[0].headers)["dlq_error"]
        assert await service.db["procedures"].count_documents({"code": broken.code}) == 0
