"""The service index, fed by the submission topic: a scripted October 2026 of dossiers (on time, late, with a
supplement, with an apology, rated) gives the hand-computed figures, a replay of the topic into an empty read
model gives the same, and the public answers carry no personal data."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from motcua.common import mongo
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.submission import (
    ApologyIssued,
    ApplicationAssigned,
    ApplicationRated,
    ApplicationReceived,
    ApplicationStatusChanged,
)
from motcua.common.events import Event
from motcua.devtools.testing import eventually, running_app
from motcua.submission.app import build_app

VN = timezone(timedelta(hours=7))

# Hand-computed (docs/accountability.md explains each): 8 received (H came in September), decided on time
# A, C, D, F, H and late B; E open past due; working days 4, 7, 7, 9, 1, 4 → 32 / 6; one supplement (C),
# one apology (D); ratings A 5/5/4, B 2/1/3, C 4/4/4, F 3/3/3 → two of four satisfied.
OCTOBER = {
    "month": "2026-10",
    "received": 8,
    "online_share": 1.0,
    "on_time": 5,
    "late": 1,
    "open_past_due": 1,
    "average_working_days": 5.33,
    "supplements": 1,
    "apologies": 1,
    "ratings": 4,
    "satisfaction_rate": 0.5,
}
SEPTEMBER = {
    **{k: 0 for k in OCTOBER},
    "month": "2026-09",
    "received": 1,
    "online_share": 1.0,
    "average_working_days": None,
    "satisfaction_rate": None,
}


def at(day: int, hour: int = 9, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=VN)


def d(day: int, month: int = 10) -> date:
    return date(2026, month, day)


class Script:
    """Events of one agency's scripted dossiers, as submission would emit them."""

    def __init__(self, agency: str) -> None:
        self.agency = agency
        self.events: list[Event] = []
        self.citizens: list[str] = []
        self.ids: list[str] = []

    def dossier(self, procedure: str, submitted: datetime, due: date) -> _Dossier:
        app_id = uuid.uuid4().hex
        citizen = f"citizen-{uuid.uuid4().hex[:12]}"
        self.ids.append(app_id)
        self.citizens.append(citizen)
        common = {
            "application_id": app_id,
            "tracking_code": f"HS-{app_id[:10].upper()}",
            "procedure_code": procedure,
            "procedure_version": 1,
            "procedure_name": "Đăng ký khai sinh" if procedure.endswith("1") else "Đăng ký kết hôn",
            "agency_code": self.agency,
            "applicant_account_id": citizen,
        }
        found = _Dossier(self, common, due)
        self.events.append(ApplicationReceived(**common, due_date=due, submitted_at=submitted))
        return found


class _Dossier:
    def __init__(self, script: Script, common: dict[str, Any], due: date) -> None:
        self.script, self.common, self.due, self.status = script, common, due, "submitted"

    def to(self, status: str, when: datetime, due: date | None = None) -> _Dossier:
        self.due = due or self.due
        self.script.events.append(
            ApplicationStatusChanged(
                **self.common,
                due_date=self.due,
                from_status=self.status,
                to_status=status,
                by_role="officer",
                changed_at=when,
            )
        )
        self.status = status
        return self

    def assigned(self, when: datetime, officer_id: str, name: str) -> _Dossier:
        self.script.events.append(
            ApplicationAssigned(
                **self.common,
                due_date=self.due,
                assignee_id=officer_id,
                assignee_name=name,
                assigned_by="officer-intake",
                assigned_at=when,
            )
        )
        return self

    def apology(self, when: datetime, due: date) -> _Dossier:
        self.script.events.append(
            ApologyIssued(
                **self.common,
                due_date=due,
                previous_due_date=self.due,
                reason="Chờ xác minh",
                slip_id="s",
                issued_at=when,
            )
        )
        self.due = due
        return self

    def rated(self, when: datetime, guidance: int, timeliness: int, courtesy: int) -> _Dossier:
        self.script.events.append(
            ApplicationRated(
                **self.common,
                due_date=self.due,
                guidance=guidance,
                timeliness=timeliness,
                courtesy=courtesy,
                has_comment=True,
                rated_at=when,
            )
        )
        return self


def october(agency: str) -> Script:
    """The same month as tests/unit/test_index_model.py, as events."""
    s = Script(agency)
    # A: on time (due the 12th, done the 9th), rated 5/5/4
    s.dossier("P1", at(5), d(12)).to("processing", at(6)).assigned(at(6, 10), "spec-ha", "Phạm Thu Hà").to(
        "approved", at(8)
    ).to("completed", at(9, 10)).rated(at(12), 5, 5, 4)
    # B: late (due the 12th, done the 14th), no apology, rated 2/1/3
    s.dossier("P1", at(5), d(12)).to("processing", at(6)).assigned(at(6, 11), "spec-ha", "Phạm Thu Hà").to(
        "approved", at(13)
    ).to("completed", at(14)).rated(at(15), 2, 1, 3)
    # C: a supplement asked the 7th, back the 9th (the due date restarts: the 16th), done the 15th, rated 4/4/4
    s.dossier("P1", at(6), d(13)).to("supplement_requested", at(7)).to("processing", at(9), d(16)).to(
        "approved", at(14)
    ).to("completed", at(15)).rated(at(16), 4, 4, 4)
    # D: an apology the 13th moves the 14th to the 21st; done the 20th: on time
    s.dossier("P1", at(7), d(14)).to("processing", at(8)).apology(at(13), d(21)).to("approved", at(19)).to(
        "completed", at(20)
    )
    # E: accepted, still open at the month's end, due the 15th
    s.dossier("P2", at(8), d(15)).to("processing", at(9))
    # F: refused at intake the next day, rated 3/3/3
    s.dossier("P2", at(12), d(19)).to("rejected", at(13)).rated(at(14), 3, 3, 3)
    # G: withdrawn
    s.dossier("P2", at(12), d(19)).to("withdrawn", at(13))
    # H: received in September, done the 2nd of October
    s.dossier("P2", at(28, month=9), d(5)).to("processing", at(29, month=9)).to("approved", at(1)).to(
        "completed", at(2)
    )
    # I: received the 30th, due in November
    s.dossier("P2", at(30), d(6, 11))
    return s


def _figures(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in OCTOBER}


async def _month_of(http: Any, agency: str, month: str) -> dict[str, Any]:
    answer = await http.get(f"/v1/public/agencies/{agency}/index", params={"month": month})
    assert answer.status_code in (200, 404), answer.text
    return answer.json() if answer.status_code == 200 else {}


async def _settled(http: Any, agency: str, month: str, wanted: dict[str, Any]) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await _month_of(http, agency, month)
        return found if found and _figures(found) == wanted else None

    try:
        return dict(await eventually(check, timeout=60))
    except AssertionError:
        raise AssertionError(f"figures never became {wanted}: {await _month_of(http, agency, month)}") from None


async def test_a_scripted_month_gives_the_hand_computed_figures(service: Any) -> None:
    agency = f"UBND-IDX-{uuid.uuid4().hex[:6].upper()}"
    script = october(agency)
    await service.publish(*script.events)

    answer = await _settled(service.http, agency, "2026-10", OCTOBER)
    assert set(answer) == {"agency_code", *OCTOBER}  # exactly CONTRACT.md's fields
    assert answer["agency_code"] == agency
    assert _figures(await _month_of(service.http, agency, "2026-09")) == SEPTEMBER

    months = (await service.http.get(f"/v1/public/agencies/{agency}/index/months", params={"to": "2026-11"})).json()
    assert [m["month"] for m in months["items"]][-3:] == ["2026-09", "2026-10", "2026-11"]
    assert len(months["items"]) == 12
    assert _figures(months["items"][-2]) == OCTOBER

    ranking = (await service.http.get("/v1/public/ranking", params={"month": "2026-10"})).json()
    ours = next(r for r in ranking["items"] if r["agency_code"] == agency)
    assert ours["on_time_rate"] == round(5 / 6, 4)
    assert _figures(ours) == OCTOBER

    officer = service.officer(agency, roles=("intake",))
    board = await service.http.get("/v1/agency/dashboard", params={"month": "2026-10"}, headers=officer)
    assert board.status_code == 200, board.text
    body = board.json()
    assert _figures({**body["totals"], "month": "2026-10"}) == OCTOBER
    per = {p["procedure_code"]: p for p in body["per_procedure"]}
    assert (per["P1"]["on_time"], per["P1"]["late"], per["P2"]["on_time"], per["P2"]["open_past_due"]) == (3, 1, 2, 1)
    assert per["P1"]["procedure_name"] == "Đăng ký khai sinh"
    # A and B were assigned to a specialist (ApplicationAssigned): her row; the others were never assigned
    officers = {o["officer_id"]: o for o in body["per_officer"]}
    assert sorted(officers, key=str) == [None, "spec-ha"]
    ha = officers["spec-ha"]
    assert (ha["officer_name"], ha["received"], ha["on_time"], ha["late"]) == ("Phạm Thu Hà", 2, 1, 1)
    costly = [(c["state"], c["working_days_late"]) for c in body["costly"]]
    assert costly == [("open_past_due", 11), ("decided_late", 2)]

    csv = await service.http.get(
        "/v1/agency/dashboard", params={"month": "2026-10"}, headers={**officer, "Accept": "text/csv"}
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].split(",")[:4] == ["scope", "code", "name", "received"]
    assert lines[1].startswith(f"agency,{agency},{agency},8,1.0,5,1,1,5.33,1,1,4,0.5")
    assert {line.split(",")[1] for line in lines[2:4]} == {"P1", "P2"}

    # another agency's officer sees their own agency's dashboard, not this one
    other = await service.http.get(
        "/v1/agency/dashboard", params={"month": "2026-10"}, headers=service.officer("UBND-IDX-KHAC")
    )
    assert other.json()["totals"]["received"] == 0


async def test_replaying_the_topic_into_an_empty_read_model_gives_the_same_figures(
    service: Any, token_minter: Any
) -> None:
    agency = f"UBND-REPLAY-{uuid.uuid4().hex[:6].upper()}"
    script = october(agency)
    await service.publish(*script.events)
    live = await _settled(service.http, agency, "2026-10", OCTOBER)
    live_months = (await service.http.get(f"/v1/public/agencies/{agency}/index/months?to=2026-10")).json()

    # a fresh database (no read model, no inbox) and a new consumer group: the topic from its beginning
    fresh = service.settings.model_copy(
        update={
            "mongodb_db": f"replay_{uuid.uuid4().hex[:8]}",
            "index_consumer_group": f"replay-{uuid.uuid4().hex[:8]}",
        }
    )
    verifier = TokenVerifier(issuer=token_minter.issuer, audience=token_minter.audience, jwks=token_minter.jwks)
    client = mongo.connect(fresh.mongodb_uri)
    try:
        assert await client[fresh.mongodb_db]["index_dossiers"].count_documents({}) == 0
        app = build_app(fresh, verifier=verifier)
        async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            replayed = await _settled(http, agency, "2026-10", OCTOBER)
            assert replayed == live
            months = (await http.get(f"/v1/public/agencies/{agency}/index/months?to=2026-10")).json()
            assert months == live_months
    finally:
        await client.drop_database(fresh.mongodb_db)
        await client.close()


async def test_the_public_answers_carry_no_personal_data(service: Any, samples: Any) -> None:
    agency = f"UBND-PRIV-{uuid.uuid4().hex[:6].upper()}"
    script = october(agency)
    await service.publish(*script.events)
    # and one real dossier of this month, through the API, refused and rated with a personal comment
    procedure = samples.birth_registration(agency=agency)
    owner_sub = f"citizen-{uuid.uuid4().hex[:12]}"
    owner = service.citizen(owner_sub)
    await service.catalogue_publishes(procedure)
    profile = await service.profile_known(owner, full_name="Trần Thị Bích")  # filed into the dossier (issue 23)
    app_id = await service.ready_to_submit(owner, procedure.code)
    submitted = await service.submit(owner, app_id)
    tracking = submitted.json()["tracking_code"]
    officer = service.officer(agency)
    assert (await service.act(officer, app_id, "reject", "Thiếu giấy tờ.")).status_code == 200
    comment = "Tôi là Trần Thị Bích, gọi 0912345678 hoặc bich.tran@example.vn"
    rating = {"guidance": 4, "timeliness": 5, "courtesy": 4, "comment": comment}
    assert (await service.http.post(f"/v1/applications/{app_id}/rating", json=rating, headers=owner)).status_code == 201

    async def rated_now() -> dict[str, Any] | None:
        found = await service.http.get(f"/v1/public/agencies/{agency}/index")
        return found.json() if found.status_code == 200 and found.json()["ratings"] == 1 else None

    now_figures = await eventually(rated_now, timeout=60)
    assert (now_figures["received"], now_figures["late"] + now_figures["on_time"]) == (1, 1)
    await _settled(service.http, agency, "2026-10", OCTOBER)

    answers = [
        await service.http.get(f"/v1/public/agencies/{agency}/index"),
        await service.http.get(f"/v1/public/agencies/{agency}/index", params={"month": "2026-10"}),
        await service.http.get(f"/v1/public/agencies/{agency}/index/months"),
        await service.http.get("/v1/public/ranking"),
        await service.http.get("/v1/public/ranking", params={"month": "2026-10"}),
    ]
    secrets = [
        owner_sub,
        app_id,
        tracking,
        comment,
        "Trần Thị Bích",
        "0912345678",
        "bich.tran@example.vn",
        profile.email,
        profile.phone,
        str(profile.national_id),
        samples.BIRTH_DATA["child_full_name"],
        *script.citizens,
        *script.ids,
        *(e.tracking_code for e in script.events if isinstance(e, ApplicationReceived)),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["cache-control"].startswith("public")
        for secret in secrets:
            assert secret not in answer.text, f"{secret!r} in {answer.url}"
        assert "@" not in answer.text

    # the agency reads the comment on its own dashboard
    board = (await service.http.get("/v1/agency/dashboard", headers=officer)).json()
    assert [c["comment"] for c in board["comments"]] == [comment]


async def test_an_unknown_agency_is_404_and_a_bad_month_names_the_field(service: Any) -> None:
    assert (await service.http.get("/v1/public/agencies/KHONG-CO-AI/index")).status_code == 404
    bad = await service.http.get("/v1/public/agencies/KHONG-CO-AI/index", params={"month": "2026-13"})
    assert bad.status_code == 422
    assert [e["pointer"] for e in bad.json()["errors"]] == ["/month"]
    bad = await service.http.get("/v1/agency/dashboard", params={"month": "10/2026"}, headers=service.officer("X"))
    assert bad.status_code == 422
    assert (await service.http.get("/v1/agency/dashboard", headers=service.citizen())).status_code == 403
