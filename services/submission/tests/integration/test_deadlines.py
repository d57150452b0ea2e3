"""The escalation check, run by the service itself: a dossier at three quarters of its time is announced as
approaching, an overdue one as overdue, each once; the overdue flag shows until an apology sets a later date."""

from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.common.contracts.submission import ApplicationDeadlineApproaching, ApplicationOverdue
from motcua.devtools.testing import eventually
from motcua.submission import due_dates

AGENCY = "UBND-XA-HAN"


async def _deadline_events(service: Any, app_id: str, count: int) -> list[Any]:
    found = await service.application_events(app_id, count, settle=2.0)
    return [e.data for e in found if isinstance(e.data, ApplicationDeadlineApproaching | ApplicationOverdue)]


async def test_an_overdue_dossier_raises_the_event_once_is_flagged_and_an_apology_clears_it(
    launch: Any, samples: Any
) -> None:
    async with launch(escalation_check_seconds=0.3) as service:
        _, app_id = await service.submitted(samples.birth_registration(agency=AGENCY, code="HT-HAN-QUA"))
        intake, _ = await service.officer_in_directory(AGENCY, ("intake",))
        _specialist, specialist_id = await service.officer_in_directory(AGENCY, ("specialist",))
        assert (await service.act(intake, app_id, "accept")).status_code == 200
        assigned = await service.http.post(
            f"/v1/agency/applications/{app_id}/assign", headers=intake, json={"assignee_id": specialist_id}
        )
        assert assigned.status_code == 200
        today = due_dates.local_day(datetime.now(UTC))
        # the days went by: due three days ago, its warning never given
        late = today - timedelta(days=3)
        await service.db["applications"].update_one(
            {"_id": app_id}, {"$set": {"due_date": late.isoformat(), "next_notice_on": late.isoformat()}}
        )

        async def told() -> bool:
            doc = await service.db["applications"].find_one({"_id": app_id})
            return doc is not None and doc.get("next_notice") is None

        await eventually(told)
        notices = await _deadline_events(service, app_id, 4)
        assert [type(n).__name__ for n in notices] == ["ApplicationOverdue"]  # once, and no late warning
        assert notices[0].assignee_id == specialist_id
        assert notices[0].working_days_left < 0

        seen = (await service.http.get(f"/v1/applications/{app_id}", headers=intake)).json()
        assert seen["overdue"] is True
        flagged = await service.http.get("/v1/agency/applications?overdue=true", headers=intake)
        assert [i["id"] for i in flagged.json()["items"]] == [app_id]

        new_date = due_dates.add_working_days(today, 3)
        apology = await service.http.post(
            f"/v1/agency/applications/{app_id}/apology",
            headers=intake,
            json={"reason": "Cần xác minh với cơ quan khác", "new_due_date": new_date.isoformat()},
        )
        assert apology.status_code == 200, apology.text
        assert apology.json()["overdue"] is False
        flagged = await service.http.get("/v1/agency/applications?overdue=true", headers=intake)
        assert flagged.json()["total"] == 0
        # the next notice waits for the new date: overdue the day after it, nothing before
        doc = await service.db["applications"].find_one({"_id": app_id})
        assert (doc["next_notice"], doc["next_notice_on"]) == ("overdue", (new_date + timedelta(days=1)).isoformat())
        assert len(await _deadline_events(service, app_id, 5)) == 1


async def test_three_quarters_of_the_time_gone_warns_once_then_waits_for_the_due_date(
    launch: Any, samples: Any
) -> None:
    async with launch(escalation_check_seconds=0.3) as service:
        procedure = samples.birth_registration(agency=AGENCY, code="HT-HAN-GAN", processing_days=8)
        _, app_id = await service.submitted(procedure)
        intake, _ = await service.officer_in_directory(AGENCY, ("intake",))
        assert (await service.act(intake, app_id, "accept")).status_code == 200
        doc = await service.db["applications"].find_one({"_id": app_id})
        assert doc["next_notice"] == "approaching"
        assert doc["next_notice_on"] > doc["submitted_at"].date().isoformat()
        today = due_dates.local_day(datetime.now(UTC))
        due = due_dates.add_working_days(today, 2)  # two of eight working days left: past three quarters
        await service.db["applications"].update_one(
            {"_id": app_id}, {"$set": {"due_date": due.isoformat(), "next_notice_on": today.isoformat()}}
        )

        async def warned() -> bool:
            found = await service.db["applications"].find_one({"_id": app_id})
            return found is not None and found.get("next_notice") == "overdue"

        await eventually(warned)
        notices = await _deadline_events(service, app_id, 3)
        assert [type(n).__name__ for n in notices] == ["ApplicationDeadlineApproaching"]
        assert notices[0].working_days_left == 2
        assert notices[0].assignee_id is None
        doc = await service.db["applications"].find_one({"_id": app_id})
        assert doc["next_notice_on"] == (due + timedelta(days=1)).isoformat()

        # a supplement request stops the clock: no notice while it waits
        assert (await service.act(intake, app_id, "request_supplement", "Thiếu ảnh")).status_code == 200
        doc = await service.db["applications"].find_one({"_id": app_id})
        assert doc.get("next_notice") is None
        assert doc.get("next_notice_on") is None
