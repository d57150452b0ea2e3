"""The document wallet (issue 20): a citizen's uploads and results, listed for them alone, attached to a new
dossier by reference (checked by SHA-256 and type) so its required document needs no upload."""

import hashlib
from typing import Any

AGENCY = "UBND-XA-WALLET"


async def test_a_wallet_item_satisfies_a_second_dossier_without_an_upload(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency=AGENCY)
    owner, first_id = await service.submitted(procedure)
    http = service.http
    officer = service.officer(AGENCY)
    for action in ("accept", "approve", "issue_result"):
        assert (await service.act(officer, first_id, action)).status_code == 200

    wallet = await http.get("/v1/wallet", headers=owner)
    assert wallet.status_code == 200
    items = wallet.json()["items"]
    assert sorted(i["kind"] for i in items) == ["result", "upload"]
    upload = next(i for i in items if i["kind"] == "upload")
    result = next(i for i in items if i["kind"] == "result")
    assert upload["sha256"] == hashlib.sha256(samples.PDF).hexdigest()
    assert upload["from_application_id"] == first_id
    assert result["content_type"] == "application/pdf"
    assert set(upload) >= {
        "id",
        "kind",
        "filename",
        "content_type",
        "size",
        "sha256",
        "from_application_id",
        "created_at",
    }
    assert (await http.get("/v1/wallet", headers=service.citizen())).json()["items"] == []
    assert (await http.get("/v1/wallet", headers=officer)).status_code == 403

    second, tag = await service.draft(owner, procedure.code)
    assert (await service.autosave(owner, second["id"], samples.BIRTH_DATA, tag)).status_code == 200
    documents = f"/v1/applications/{second['id']}/documents"
    attached = await http.post(
        documents, headers=owner, json={"document_key": "birth_certificate_medical", "wallet_item_id": upload["id"]}
    )
    assert attached.status_code == 201, attached.text
    body = attached.json()
    assert body["sha256"] == upload["sha256"]
    assert body["document_key"] == "birth_certificate_medical"
    assert body["source"] == {
        "kind": "wallet",
        "wallet_item_id": upload["id"],
        "item_kind": "upload",
        "from_application_id": first_id,
    }
    assert body["id"] != upload["id"]  # the dossier's own copy: removing it never touches the original
    assert (await service.submit(owner, second["id"])).status_code == 200
    read = await http.get(f"/v1/applications/{second['id']}", headers=officer)
    assert read.json()["documents"][0]["source"]["kind"] == "wallet"
    copy = await http.get(f"{documents}/{body['id']}", headers=officer)
    assert copy.content == samples.PDF
    # the agency sees the item attached to its dossier, and the wallet item itself only through that dossier
    listed = (await http.get("/v1/wallet", headers=owner)).json()["items"]
    assert len([i for i in listed if i["kind"] == "upload"]) == 1  # an attached copy is not a new item


async def test_a_wallet_item_of_the_wrong_type_is_415_and_anothers_item_is_404(service: Any, samples: Any) -> None:
    pdf_only = samples.birth_registration(agency=AGENCY)
    images_only = pdf_only.model_copy(
        update={
            "code": f"{pdf_only.code}-IMG",
            "required_documents": [
                d.model_copy(update={"accepted_types": ["image/jpeg", "image/png"]})
                for d in pdf_only.required_documents
            ],
        }
    )
    await service.catalogue_publishes(pdf_only, images_only)
    owner = service.citizen()
    first_id = await service.ready_to_submit(owner, pdf_only.code)
    item = (await service.http.get("/v1/wallet", headers=owner)).json()["items"][0]

    target, _ = await service.draft(owner, images_only.code)
    documents = f"/v1/applications/{target['id']}/documents"
    wrong = await service.http.post(
        documents, headers=owner, json={"document_key": "birth_certificate_medical", "wallet_item_id": item["id"]}
    )
    assert wrong.status_code == 415, wrong.text
    unknown_key = await service.http.post(
        documents, headers=owner, json={"document_key": "no_such_document", "wallet_item_id": item["id"]}
    )
    assert unknown_key.status_code == 422
    missing = await service.http.post(documents, headers=owner, json={"document_key": "birth_certificate_medical"})
    assert missing.status_code == 422
    assert "/wallet_item_id" in [e["pointer"] for e in missing.json()["errors"]]

    stranger = service.citizen()
    theirs, _ = await service.draft(stranger, pdf_only.code)
    stolen = await service.http.post(
        f"/v1/applications/{theirs['id']}/documents",
        headers=stranger,
        json={"document_key": "birth_certificate_medical", "wallet_item_id": item["id"]},
    )
    assert stolen.status_code == 404
    assert first_id
