"""Who applied (issue 23): the applicant's profile, told by identity (AccountProfileChanged), is filed into the
dossier at submission and shown to the officers of the dossier's agency alone; the desk finds a dossier by the
beginning of its applicant's name, with or without diacritics, through its own index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.common import topics
from motcua.devtools.testing import read_events

AGENCY = "UBND-XA-NGUOI-NOP"


def _agency(tag: str) -> str:
    return f"{AGENCY}-{tag}-{uuid.uuid4().hex[:4].upper()}"


async def _queue(service: Any, who: dict[str, str], query: str) -> Any:
    return await service.http.get(f"/v1/agency/applications?{query}", headers=who)


async def test_the_agencys_officer_reads_the_applicant_as_filed_and_a_later_change_does_not_rewrite_it(
    service: Any, samples: Any
) -> None:
    agency = _agency("SNAP")
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    parent = service.citizen()
    profile = await service.profile_known(parent, full_name="Nguyễn Thị Ánh")
    app_id = await service.ready_to_submit(parent, procedure.code)
    submitted = await service.submit(parent, app_id)
    assert submitted.status_code == 200, submitted.text

    officer = service.officer(agency)
    seen = await service.http.get(f"/v1/applications/{app_id}", headers=officer)
    assert seen.status_code == 200
    assert seen.json()["applicant"] == {
        "account_type": "individual",
        "full_name": "Nguyễn Thị Ánh",
        "national_id": profile.national_id,
        "tax_code": None,
        "organisation_name": None,
        "email": profile.email,
        "phone": profile.phone,
    }
    listed = (await _queue(service, officer, "page_size=100")).json()["items"]
    row = next(a for a in listed if a["id"] == app_id)
    assert row["applicant"] == {"account_type": "individual", "full_name": "Nguyễn Thị Ánh", "organisation_name": None}

    # the account changes its name later: the filed tờ khai keeps the name it was filed under
    later = datetime.now(UTC) + timedelta(seconds=1)
    await service.profile_known(parent, full_name="Nguyễn Thị Ánh Dương", changed_at=later)
    again = await service.http.get(f"/v1/applications/{app_id}", headers=officer)
    assert again.json()["applicant"]["full_name"] == "Nguyễn Thị Ánh"
    # a replayed older record does not undo the newer profile (latest changed_at wins)
    await service.publish(profile)
    await service.profile_known(parent, full_name="Nguyễn Thị Ánh Dương", changed_at=later + timedelta(seconds=1))
    stored = await service.db["applicant_profiles"].find_one({"_id": profile.account_id})
    assert stored["full_name"] == "Nguyễn Thị Ánh Dương"

    # a resubmission after a supplement keeps the applicant it was filed with
    asked = await service.http.post(
        f"/v1/agency/applications/{app_id}/actions",
        headers=officer,
        json={"action": "request_supplement", "comment": "Bổ sung giấy chứng sinh bản rõ nét"},
    )
    assert asked.status_code == 200, asked.text
    back = await service.http.post(
        f"/v1/applications/{app_id}/resubmit", headers=parent, json={"comment": "Đã bổ sung"}
    )
    assert back.status_code == 200, back.text
    assert (await service.http.get(f"/v1/applications/{app_id}", headers=officer)).json()["applicant"][
        "full_name"
    ] == "Nguyễn Thị Ánh"


async def test_nobody_but_the_agencys_officers_reads_the_applicant(service: Any, samples: Any) -> None:
    agency = _agency("PRIV")
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    parent = service.citizen()
    profile = await service.profile_known(parent, full_name="Phạm Quốc Vỹ")
    app_id = await service.ready_to_submit(parent, procedure.code)
    receipt = (await service.submit(parent, app_id)).json()
    personal = [profile.full_name, profile.email, profile.phone, str(profile.national_id), '"applicant"']

    other_agency = service.officer(_agency("KHAC"))
    assert (await service.http.get(f"/v1/applications/{app_id}", headers=other_agency)).status_code == 404
    answers = [
        await service.http.get(f"/v1/applications/{app_id}", headers=parent),  # the citizen's own view
        await service.http.get("/v1/applications", headers=parent),
        await service.http.get(f"/v1/lookup/{receipt['tracking_code']}"),
        await _queue(service, other_agency, "q=pham&page_size=100"),
    ]
    for answer in answers:
        assert answer.status_code == 200, (answer.url, answer.text)
        for value in personal:
            assert value not in answer.text, f"{value!r} in {answer.url}"

    # the events agencies, webhooks and notification read carry no applicant detail (only the account id)
    accepted = await service.act(service.officer(agency), app_id, "accept", "Đã tiếp nhận")
    assert accepted.status_code == 200
    events = await service.application_events(app_id, 2)
    copies = await read_events(
        service.settings.kafka_bootstrap_servers, service.topic(topics.agency(agency)), count=2, timeout=10
    )
    for envelope in [*events, *copies]:
        dumped = envelope.data.model_dump_json()
        for value in personal[:4]:
            assert value not in dumped, (envelope.type, value)


async def test_the_desk_finds_a_dossier_by_the_beginning_of_its_applicants_name_with_or_without_diacritics(
    service: Any, samples: Any
) -> None:
    agency = _agency("TIM")
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    filed: dict[str, str] = {}
    for name in ("Nguyễn Thị Ánh", "Nguyễn Văn Đức", "Đặng Thị Lý"):
        citizen = service.citizen()
        await service.profile_known(citizen, full_name=name)
        app_id = await service.ready_to_submit(citizen, procedure.code)
        assert (await service.submit(citizen, app_id)).status_code == 200
        filed[name] = app_id
    officer = service.officer(agency)

    async def found(typed: str) -> set[str]:
        answer = await _queue(service, officer, f"q={typed}&page_size=100")
        assert answer.status_code == 200, (typed, answer.text)
        return {a["id"] for a in answer.json()["items"]}

    both = {filed["Nguyễn Thị Ánh"], filed["Nguyễn Văn Đức"]}
    assert await found("Nguyễn") == both
    assert await found("nguyen") == both
    assert await found("NGUYEN%20THI") == {filed["Nguyễn Thị Ánh"]}
    assert await found("nguyễn thị á") == {filed["Nguyễn Thị Ánh"]}
    assert await found("dang%20thi%20li") == {filed["Đặng Thị Lý"]}  # đ as d, the final y as i
    assert await found("Đặng%20Thị%20Lý") == {filed["Đặng Thị Lý"]}
    assert await found("thi") == set()  # the beginning of the name, not any word in it
    # another agency's officer finds none of them
    other = await _queue(service, service.officer(_agency("KHAC")), "q=nguyen&page_size=100")
    assert other.json()["items"] == []


async def test_the_search_by_name_reads_the_agencys_applicant_index(service: Any, samples: Any) -> None:
    agency = _agency("IDX")
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    citizen = service.citizen()
    await service.profile_known(citizen, full_name="Hoàng Minh Tâm")
    app_id = await service.ready_to_submit(citizen, procedure.code)
    assert (await service.submit(citizen, app_id)).status_code == 200
    officer = service.officer(agency)
    assert {a["id"] for a in (await _queue(service, officer, "q=hoang%20minh")).json()["items"]} == {app_id}

    indexes = await service.db["applications"].index_information()
    assert indexes["agency_applicant"]["key"] == [("agency_code", 1), ("applicant.name_key", 1)]
    # the query the queue runs for `q=hoang minh`, as the server plans it
    plan = await service.db.command(
        {
            "explain": {
                "find": "applications",
                "filter": {
                    "agency_code": agency,
                    "applicant.name_key": {"$regex": "^hoang minh"},
                    "status": {"$in": ["submitted", "processing", "supplement_requested", "approved"]},
                },
                "sort": {"due_date": 1, "submitted_at": 1},
                "hint": "agency_applicant",
            },
            "verbosity": "queryPlanner",
        }
    )
    text = str(plan)
    assert "agency_applicant" in text, text
    assert "COLLSCAN" not in text, text


async def test_a_submit_before_the_applicants_profile_arrived_is_answered_503_with_retry_after(
    service: Any, samples: Any
) -> None:
    agency = _agency("CHO")
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    just_activated = service.citizen()
    app_id = await service.ready_to_submit(just_activated, procedure.code)
    key = uuid.uuid4().hex
    early = await service.http.post(
        f"/v1/applications/{app_id}/submit", headers={**just_activated, "Idempotency-Key": key}
    )
    assert early.status_code == 503, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert int(early.headers["retry-after"]) >= 1
    assert early.json()["title"] == "Applicant details not yet available"
    still = await service.http.get(f"/v1/applications/{app_id}", headers=just_activated)
    assert still.json()["status"] == "draft"  # nothing half-written
    assert await service.application_events(app_id, 1, timeout=1.5) == []

    await service.profile_known(just_activated, full_name="Võ Thị Sáu")
    retried = await service.http.post(
        f"/v1/applications/{app_id}/submit", headers={**just_activated, "Idempotency-Key": key}
    )
    assert retried.status_code == 200, retried.text
    seen = await service.http.get(f"/v1/applications/{app_id}", headers=service.officer(agency))
    assert seen.json()["applicant"]["full_name"] == "Võ Thị Sáu"


async def test_a_search_that_is_neither_a_tracking_code_nor_a_name_is_refused_naming_q(service: Any) -> None:
    officer = service.officer(_agency("BAD"))
    for typed in ("!!", "%20%20", "--", ".*", "a" * 101, "HS-26A1", "HS-2612-7KQ3-M9XAZ"):
        answer = await _queue(service, officer, f"q={typed}")
        assert answer.status_code == 422, (typed, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "q" in answer.text
    for typed in ("<script>", "a" * 100, "Nguyễn%00", "x'; drop"):
        answer = await _queue(service, officer, f"q={typed}")
        assert answer.status_code == 200, (typed, answer.text)
        assert answer.json()["items"] == []
