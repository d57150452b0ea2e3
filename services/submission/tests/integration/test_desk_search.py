"""The desk's queue searched by tracking code (whole, its beginning, dashes optional) and limited to the dossiers
still open; a query that cannot begin a tracking code is refused with problem details naming `q`."""

from typing import Any

AGENCY = "UBND-XA-SEARCH"


async def _queue(service: Any, who: dict[str, str], query: str) -> Any:
    return await service.http.get(f"/v1/agency/applications?{query}", headers=who)


async def test_the_queue_finds_a_dossier_by_its_tracking_code_or_its_beginning_and_keeps_to_open_ones(
    service: Any, samples: Any
) -> None:
    agency = f"{AGENCY}-WALK"
    _, first = await service.submitted(samples.birth_registration(agency=agency, code="HT-SEARCH-A"))
    _, second = await service.submitted(samples.birth_registration(agency=agency, code="HT-SEARCH-B"))
    officer = service.officer(agency)
    elsewhere = service.officer("UBND-XA-SEARCH-KHAC")
    codes = {}
    for app_id in (first, second):
        answer = await service.http.get(f"/v1/applications/{app_id}", headers=officer)
        codes[app_id] = answer.json()["tracking_code"]

    code = codes[first]
    for typed in (code, code.lower(), code.replace("-", ""), f" {code} "):
        found = await _queue(service, officer, f"q={typed.replace(' ', '%20')}")
        assert found.status_code == 200, (typed, found.text)
        assert [a["id"] for a in found.json()["items"]] == [first], typed
    # a beginning finds every dossier of this agency whose code starts so (both were submitted this month)
    found = await _queue(service, officer, f"q={code[:7]}&page_size=100")
    ids = {a["id"] for a in found.json()["items"]}
    assert {first, second} <= ids
    assert all(a["tracking_code"].startswith(code[:7]) for a in found.json()["items"])
    # another agency's officer finds nothing of this agency's, even by the whole code
    assert (await _queue(service, elsewhere, f"q={code}")).json()["items"] == []

    # open only: a finished dossier leaves the default view of the desk, and stays in "all"
    assert (await service.act(officer, second, "reject", "Không đủ điều kiện.")).status_code == 200
    opened = await _queue(service, officer, "open=true&page_size=100")
    assert first in [a["id"] for a in opened.json()["items"]]
    assert second not in [a["id"] for a in opened.json()["items"]]
    assert all(
        a["status"] in ("submitted", "processing", "supplement_requested", "approved") for a in opened.json()["items"]
    )
    everything = await _queue(service, officer, "page_size=100")
    assert second in [a["id"] for a in everything.json()["items"]]
    assert (await _queue(service, officer, f"open=true&q={codes[second]}")).json()["items"] == []


async def test_a_query_meant_as_a_tracking_code_that_cannot_begin_one_is_refused_naming_q(service: Any) -> None:
    officer = service.officer(f"{AGENCY}-BAD")
    # (anything else is the beginning of an applicant's name: test_applicant.py)
    for typed in ("HS-26A1", "HS-2612-7KQ3-M9XAZ", "hs 2612 7kq3 m9xaz", "H", "HS-2612-7KQ3-M9X%00", "HS2%2F..%2F"):
        answer = await _queue(service, officer, f"q={typed}")
        assert answer.status_code == 422, (typed, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "q" in answer.text
    assert (await _queue(service, officer, "open=maybe")).status_code == 422


async def test_a_pdf_is_sent_inline_for_a_preview_only_when_asked(service: Any, samples: Any) -> None:
    agency = f"{AGENCY}-PREVIEW"
    _, app_id = await service.submitted(samples.birth_registration(agency=agency, code="HT-SEARCH-P"))
    officer = service.officer(agency)
    app = (await service.http.get(f"/v1/applications/{app_id}", headers=officer)).json()
    doc = app["documents"][0]
    path = f"/v1/applications/{app_id}/documents/{doc['id']}"
    saved = await service.http.get(path, headers=officer)
    shown = await service.http.get(f"{path}?inline=true", headers=officer)
    for answer in (saved, shown):
        assert answer.status_code == 200
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"] == doc["content_type"]
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert shown.headers["content-disposition"].startswith("inline;")
    assert (await service.http.get(f"{path}?inline=maybe", headers=officer)).status_code == 422
    assert (await service.http.get(f"{path}?inline=true", headers=service.officer("UBND-KHAC"))).status_code == 404
