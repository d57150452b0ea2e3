"""The read model of published procedures: versions pin drafts, retirement stops new ones."""

import copy
from typing import Any


async def test_a_draft_keeps_its_version_when_a_new_one_is_published(service: Any, samples: Any) -> None:
    v1 = samples.birth_registration()
    await service.catalogue_publishes(v1)
    who = service.citizen()
    old_id = await service.ready_to_submit(who, v1.code)

    schema = copy.deepcopy(v1.form_schema)
    schema["properties"]["child_ethnicity"] = {"type": "string", "minLength": 1}
    schema["required"] = [*schema["required"], "child_ethnicity"]
    v2 = v1.model_copy(update={"version": 2, "form_schema": schema, "name": "Đăng ký khai sinh (mẫu mới)"})
    await service.catalogue_publishes(v2)

    fresh, _ = await service.draft(who, v1.code)
    assert fresh["procedure_version"] == 2
    old = await service.http.get(f"/v1/applications/{old_id}", headers=who)
    assert (old.json()["procedure_version"], old.json()["procedure_name"]) == (1, "Đăng ký khai sinh")
    assert (await service.submit(who, old_id)).status_code == 200  # v1's form had no child_ethnicity

    # Retired: no new drafts, but a draft already started can still be submitted.
    started, _ = await service.draft(who, v1.code)
    await service.publish(samples.retirement(v2))

    async def refused() -> bool:
        response = await service.http.post("/v1/applications", json={"procedure_code": v1.code}, headers=who)
        return bool(response.status_code == 404)

    from motcua.devtools.testing import eventually

    await eventually(refused)
    tag = (await service.http.get(f"/v1/applications/{started['id']}", headers=who)).headers["etag"]
    assert (
        await service.autosave(who, started["id"], {**samples.BIRTH_DATA, "child_ethnicity": "Kinh"}, tag)
    ).status_code == 200
    assert (await service.upload(who, started["id"], "birth_certificate_medical", samples.PDF)).status_code == 201
    assert (await service.submit(who, started["id"])).status_code == 200


async def test_who_may_apply_is_the_procedures_choice(service: Any, samples: Any) -> None:
    households = samples.birth_registration(applicant_types=["business", "individual"])
    companies = samples.birth_registration(applicant_types=["business"])
    await service.catalogue_publishes(households, companies)
    person = service.citizen(account_type="individual")
    company = service.citizen(account_type="business")
    association = service.citizen(account_type="organisation")

    async def create(code: Any, who: Any) -> Any:
        return await service.http.post("/v1/applications", json={"procedure_code": code}, headers=who)

    assert (await create(companies.code, person)).status_code == 403
    assert (await create(companies.code, company)).status_code == 201
    assert (await create(households.code, person)).status_code == 201
    refused = await create(households.code, association)
    assert refused.status_code == 403
    assert "business, individual" in refused.json()["detail"]
    assert (await create("NO-SUCH-01", person)).status_code == 404
    assert (await create(companies.code, service.officer("UBND-XA"))).status_code == 403
