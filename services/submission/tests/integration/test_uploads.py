"""Documents: streamed into GridFS, judged by content, limited in size; refused uploads leave nothing."""

import hashlib
import os
from typing import Any

LIMIT_MB = 0.05  # 52,428 bytes: small files keep the test fast


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    """A body in the order given (browsers send fields in form order; the file may come first)."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def stored_files(service: Any) -> tuple[int, int]:
    return (
        await service.db["documents.files"].count_documents({}),
        await service.db["documents.chunks"].count_documents({}),
    )


async def test_bad_uploads_are_refused_and_leave_nothing_stored(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(max_size_mb=LIMIT_MB)
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    draft, _ = await service.draft(who, procedure.code)
    url = f"/v1/applications/{draft['id']}/documents"
    before = await stored_files(service)
    too_big = b"%PDF-1.4\n" + os.urandom(int(LIMIT_MB * 1048576))

    executable = await service.upload(
        who,
        draft["id"],
        "birth_certificate_medical",
        samples.EXE,
        filename="giay-chung-sinh.pdf",
        declared="application/pdf",
    )
    assert executable.status_code == 415
    assert "application/pdf, image/jpeg, image/png" in executable.json()["detail"]
    over = await service.upload(who, draft["id"], "birth_certificate_medical", too_big)
    assert over.status_code == 413
    empty = await service.upload(who, draft["id"], "birth_certificate_medical", b"")
    assert (empty.status_code, empty.json()["errors"][0]["pointer"]) == (422, "/file")
    unknown = await service.upload(who, draft["id"], "passport_photo", samples.JPEG)
    assert (unknown.status_code, unknown.json()["errors"][0]["pointer"]) == (422, "/document_key")
    assert "birth_certificate_medical" in unknown.json()["errors"][0]["message"]

    # The file before its key: the limit and the type are still those of the key that follows.
    body, headers = multipart(("file", "a.pdf", too_big), ("document_key", None, b"birth_certificate_medical"))
    assert (await service.http.post(url, content=body, headers={**who, **headers})).status_code == 413
    body, headers = multipart(("file", "a.pdf", samples.EXE), ("document_key", None, b"marriage_certificate"))
    assert (await service.http.post(url, content=body, headers={**who, **headers})).status_code == 415

    malformed = [
        multipart(("document_key", None, b"birth_certificate_medical")),
        multipart(("file", "a.pdf", samples.PDF)),
        multipart(
            ("document_key", None, b"birth_certificate_medical"),
            ("file", "a.pdf", samples.PDF),
            ("file", "b.pdf", samples.PDF),
        ),
        multipart(
            ("document_key", None, b"birth_certificate_medical"),
            ("comment", None, b"hi"),
            ("file", "a.pdf", samples.PDF),
        ),
        multipart(("document_key", None, b"x" * 500), ("file", "a.pdf", samples.PDF)),
        (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"\r\n\r\n%PDF-truncated',
            {"Content-Type": "multipart/form-data; boundary=b0undary"},
        ),
    ]
    for body, headers in malformed:
        refused = await service.http.post(url, content=body, headers={**who, **headers})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] in ("/file", "/document_key", "/comment")
    not_multipart = await service.http.post(url, content=b"x", headers={**who, "Content-Type": "text/plain"})
    assert not_multipart.status_code == 415
    # JSON attaches an item of the wallet (issue 20): without one, 422 naming it
    no_item = await service.http.post(url, json={"document_key": "x"}, headers=who)
    assert no_item.status_code == 422
    assert "/wallet_item_id" in [e["pointer"] for e in no_item.json()["errors"]]

    assert await stored_files(service) == before
    assert (await service.http.get(f"/v1/applications/{draft['id']}", headers=who)).json()["documents"] == []


async def test_a_document_is_streamed_replaced_and_removed(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(max_size_mb=3)
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    draft, _ = await service.draft(who, procedure.code)
    base = f"/v1/applications/{draft['id']}"
    before = await stored_files(service)

    scan = b"%PDF-1.7\n" + os.urandom(2 * 1048576)  # several GridFS chunks
    first = await service.upload(who, draft["id"], "birth_certificate_medical", scan)
    assert first.status_code == 201, first.text
    assert (first.json()["size"], first.json()["sha256"]) == (len(scan), hashlib.sha256(scan).hexdigest())
    downloaded = await service.http.get(f"{base}/documents/{first.json()['id']}", headers=who)
    assert hashlib.sha256(downloaded.content).hexdigest() == first.json()["sha256"]
    assert downloaded.headers["content-disposition"] == "attachment; filename*=UTF-8''scan.pdf"

    # The same key again replaces the file; the old one is gone from storage too.
    body, headers = multipart(
        ("file", "../../etc/ảnh chụp.png", samples.PNG), ("document_key", None, b"birth_certificate_medical")
    )
    second = await service.http.post(f"{base}/documents", content=body, headers={**who, **headers})
    assert second.status_code == 201, second.text
    assert (second.json()["content_type"], second.json()["filename"]) == ("image/png", "ảnh chụp.png")
    documents = (await service.http.get(base, headers=who)).json()["documents"]
    assert [d["id"] for d in documents] == [second.json()["id"]]
    assert (await service.http.get(f"{base}/documents/{first.json()['id']}", headers=who)).status_code == 404
    assert (await stored_files(service))[0] == before[0] + 1

    removed = await service.http.delete(f"{base}/documents/{second.json()['id']}", headers=who)
    assert removed.status_code == 204
    assert (await service.http.get(base, headers=who)).json()["documents"] == []
    assert await stored_files(service) == before
    assert (await service.http.delete(f"{base}/documents/{second.json()['id']}", headers=who)).status_code == 404


async def test_documents_are_frozen_once_submitted(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration()
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    app_id = await service.ready_to_submit(who, procedure.code)
    assert (await service.submit(who, app_id)).status_code == 200
    doc_id = (await service.http.get(f"/v1/applications/{app_id}", headers=who)).json()["documents"][0]["id"]
    before = await stored_files(service)
    late = await service.upload(who, app_id, "marriage_certificate", samples.PDF)
    assert late.status_code == 409
    assert await stored_files(service) == before  # the refused small file was never written
    assert (await service.http.delete(f"/v1/applications/{app_id}/documents/{doc_id}", headers=who)).status_code == 409


async def test_a_small_file_is_stored_attached_with_its_attachment(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration()
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    draft, _ = await service.draft(who, procedure.code)
    before = await stored_files(service)
    uploaded = await service.upload(who, draft["id"], "birth_certificate_medical", samples.PDF)
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    # one chunk and one record, written in the attachment's transaction: recorded attached from the start
    record = await service.db["documents.files"].find_one({"_id": file_id})
    assert record is not None
    assert (record["metadata"]["application_id"], record["metadata"]["attached"]) == (draft["id"], True)
    assert (record["length"], record["chunkSize"]) == (len(samples.PDF), 255 * 1024)
    assert await service.db["documents.chunks"].count_documents({"files_id": file_id}) == 1
    assert await stored_files(service) == (before[0] + 1, before[1] + 1)
    downloaded = await service.http.get(f"/v1/applications/{draft['id']}/documents/{file_id}", headers=who)
    assert downloaded.content == samples.PDF


async def test_files_never_attached_are_swept_and_attached_ones_kept(
    service: Any, samples: Any, mongo_client: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from motcua.submission.orphan_files import sweep
    from motcua.submission.store import Store

    procedure = samples.birth_registration()
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    draft, _ = await service.draft(who, procedure.code)
    kept = (await service.upload(who, draft["id"], "birth_certificate_medical", samples.PDF)).json()["id"]
    store = Store(mongo_client, mongo_client[service.settings.database_name])
    # As if the process stopped after storing a file and before attaching it (or before marking it).
    async with store.files.open_upload_stream_with_id(
        "orphan-1", "lost.pdf", metadata={"application_id": draft["id"]}
    ) as stream:
        await stream.write(samples.PDF)
    files = service.db["documents.files"]
    await files.update_one({"_id": kept}, {"$unset": {"metadata.attached": ""}})
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    await files.update_many({"_id": {"$in": ["orphan-1", kept]}}, {"$set": {"uploadDate": two_hours_ago}})

    assert await sweep(store, older_than=timedelta(hours=1)) == 1
    assert await files.count_documents({"_id": "orphan-1"}) == 0
    assert await service.db["documents.chunks"].count_documents({"files_id": "orphan-1"}) == 0
    assert (await files.find_one({"_id": kept}))["metadata"]["attached"] is True
    downloaded = await service.http.get(f"/v1/applications/{draft['id']}/documents/{kept}", headers=who)
    assert downloaded.content == samples.PDF
