"""Each agency reads its own dossiers' events, on its own topic, and never another agency's (issue 16).

Until now every agency consumed `motcua.submission.application.v1`, so agency B's consumer saw agency A's
tracking codes, applicants' account ids and officers' comments. Now each event is also written, in the
same transaction and in the same order, to `motcua.submission.agency.<agency_code>.v1`, which only that
agency's Kafka user may read (deploy/k8s/base/kafka-users.yaml, checked by tests/deploy).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from motcua.common import topics
from motcua.devtools.testing import read_events


async def test_an_agency_topic_carries_that_agencys_dossier_events_and_no_other_agencys(
    service: Any, samples: Any
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    ours, theirs = f"UBND-A-{tag}", f"SO-B-{tag}"
    births = {agency: samples.birth_registration(agency=agency) for agency in (ours, theirs)}
    await service.catalogue_publishes(*births.values())
    dossiers: dict[str, str] = {}
    for agency, procedure in births.items():
        parent = service.citizen()
        app_id = await service.ready_to_submit(parent, procedure.code)
        assert (await service.submit(parent, app_id)).status_code == 200
        accepted = await service.act(service.officer(agency), app_id, "accept", "Đã tiếp nhận hồ sơ")
        assert accepted.status_code == 200, accepted.text
        dossiers[agency] = app_id

    bootstrap = service.settings.kafka_bootstrap_servers
    for agency, app_id in dossiers.items():
        # what that agency's consumer receives: its own dossier's events, in order, and nothing else
        await asyncio.sleep(0.5)  # a stray event of the other agency would have arrived by now
        events = await read_events(bootstrap, service.topic(topics.agency(agency)), count=3, timeout=5)
        assert [e.type for e in events] == [
            "motcua.submission.ApplicationReceived.v1",
            "motcua.submission.ApplicationStatusChanged.v1",
        ], agency
        assert {e.subject for e in events} == {app_id}
        assert {getattr(e.data, "agency_code", None) for e in events} == {agency}
        # the very events of the application topic: same ce_id, so consumers deduplicate alike
        assert [e.id for e in events] == [e.id for e in await service.application_events(app_id, 2)]
