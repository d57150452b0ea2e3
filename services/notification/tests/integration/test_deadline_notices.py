"""An officer is told when a dossier of their agency runs late: the assignee and every active approver, each
once by email and in the portal, and nobody else (not the applicant, not another agency's approver)."""

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from motcua.common import mongo
from motcua.common.contracts.identity import AccountRegistered, OfficerProfileChanged
from motcua.common.contracts.submission import ApplicationDeadlineApproaching, ApplicationOverdue
from motcua.devtools.testing import eventually

AGENCY = "UBND-XA-TRE"


async def _directory_has(kit: Any, *officers: AccountRegistered) -> None:
    """Wait until notification knows these officers' agencies (the directory is another topic)."""
    client = mongo.connect(kit.stack.mongodb_uri)
    try:
        contacts = client[kit.isolation.db_name]["contacts"]
        ids = [o.account_id for o in officers]

        async def known() -> bool:
            return await contacts.count_documents({"_id": {"$in": ids}, "agency_code": {"$exists": True}}) == len(ids)

        await eventually(known)
    finally:
        await client.close()


def _officer(full_name: str, locale: str = "vi") -> AccountRegistered:
    tag = uuid.uuid4().hex[:8]
    return AccountRegistered(
        account_id=f"officer-{tag}",
        account_type="officer",
        full_name=full_name,
        email=f"officer.{tag}@ubnd.example.vn",
        phone=f"09{int(tag, 16) % 100_000_000:08d}",
        locale=locale,
    )


def _entry(officer: AccountRegistered, agency: str, roles: list[str], *, active: bool = True) -> OfficerProfileChanged:
    return OfficerProfileChanged(
        account_id=officer.account_id,
        full_name=officer.full_name,
        agency_code=agency,
        agency_roles=roles,
        active=active,
        changed_at=datetime.now(UTC),
    )


async def test_the_assignee_and_the_agencys_approvers_are_told_once_each(kit: Any, service: Any) -> None:
    citizen = kit.account()
    specialist = _officer("Phạm Thu Hà")
    approver = _officer("Ngô Đức Lãnh", locale="en")
    former = _officer("Đỗ Văn Cũ")
    elsewhere = _officer("Hoàng Thị Xa")
    await kit.send(citizen, specialist, approver, former, elsewhere)
    await kit.send(
        _entry(specialist, AGENCY, ["specialist"]),
        _entry(approver, AGENCY, ["approver", "intake"]),
        _entry(former, AGENCY, ["approver"], active=False),
        _entry(elsewhere, "UBND-XA-KHAC", ["approver"]),
    )
    received = kit.received(citizen, agency_code=AGENCY, tracking_code="HS-TRE1-HAN1")
    fields = received.model_dump(exclude={"submitted_at", "due_date"})
    overdue = ApplicationOverdue(
        **fields,
        due_date=date(2026, 12, 4),
        assignee_id=specialist.account_id,
        status="processing",
        working_days_left=-2,
        noticed_at=datetime.now(UTC),
    )
    await _directory_has(kit, specialist, approver, former, elsewhere)  # identity's came long before, in life
    [envelope] = await kit.send(overdue)
    await kit.send(envelope)  # delivered twice: told once

    async def told() -> bool:
        return len(kit.smtp.to(specialist.email)) == 1 and len(kit.smtp.to(approver.email)) == 1

    await eventually(told)
    await asyncio.sleep(0.5)
    assert len(kit.smtp.to(specialist.email)) == 1
    assert len(kit.smtp.to(approver.email)) == 1
    for nobody in (former, elsewhere, citizen):
        assert kit.smtp.to(nobody.email) == []
    [mail] = kit.smtp.to(specialist.email)
    assert mail.subject == "[Một cửa] Hồ sơ HS-TRE1-HAN1: đã quá hạn giải quyết"
    assert "quá hạn trả kết quả ngày 04/12/2026 (2 ngày làm việc)" in mail.text
    assert f"/officer/applications/{received.application_id}" in mail.text
    [english] = kit.smtp.to(approver.email)
    assert english.subject == "[Mot Cua] Application HS-TRE1-HAN1: past its due date"
    assert "2 working days late" in english.text
    assert kit.sms.to(specialist.phone) == []  # officers are told at their desk, not by SMS

    page = await service.http.get("/v1/notifications", headers=kit.minter.headers(specialist.account_id))
    [notice] = [n for n in page.json()["items"] if n["application_id"] == received.application_id]
    assert notice["title"] == "Hồ sơ HS-TRE1-HAN1: quá hạn (04/12/2026)"
    assert notice["link"].endswith(f"/officer/applications/{received.application_id}")


async def test_a_warning_without_an_assignee_goes_to_the_approvers(kit: Any, service: Any) -> None:
    citizen = kit.account()
    approver = _officer("Lý Thị Duyệt")
    await kit.send(citizen, approver)
    await kit.send(_entry(approver, f"{AGENCY}-2", ["approver"]))
    received = kit.received(citizen, agency_code=f"{AGENCY}-2", tracking_code="HS-TRE2-GAN2")
    fields = received.model_dump(exclude={"submitted_at", "due_date"})
    await _directory_has(kit, approver)
    await kit.send(
        ApplicationDeadlineApproaching(
            **fields,
            due_date=date(2026, 12, 9),
            assignee_id=None,
            status="submitted",
            working_days_left=1,
            noticed_at=datetime.now(UTC),
        )
    )

    async def told() -> bool:
        return len(kit.smtp.to(approver.email)) == 1

    await eventually(told)
    [mail] = kit.smtp.to(approver.email)
    assert mail.subject == "[Một cửa] Hồ sơ HS-TRE2-GAN2: sắp đến hạn giải quyết"
    assert "hạn trả kết quả là ngày 09/12/2026 (còn 1 ngày làm việc)" in mail.text
