"""A slip of a dossier as a PDF (motcua.common.slip_document renders it): rendered on demand from the slip,
itself read from the history, so a slip opened twice is the same file byte for byte — and the same file the
applicant was sent by email."""

from __future__ import annotations

from motcua.common.slip_document import Fonts, SlipDocument
from motcua.common.slip_document import render as render_document
from motcua.submission.model import Application
from motcua.submission.slips import Slip

__all__ = ["Fonts", "document", "render"]


def document(slip: Slip, app: Application) -> SlipDocument:
    return SlipDocument(
        kind=slip.kind,
        issued_at=slip.issued_at,
        tracking_code=app.tracking_code or "",
        procedure_code=app.procedure_code,
        procedure_name=app.procedure_name,
        agency_code=app.agency_code,
        submitted_at=app.submitted_at,
        text=slip.text,
        due_date=slip.due_date,
        previous_due_date=slip.previous_due_date,
        items=slip.items,
        supply_by=slip.supply_by,
    )


def render(slip: Slip, app: Application, fonts: Fonts, public_base_url: str) -> bytes:
    return render_document(document(slip, app), fonts, public_base_url)
