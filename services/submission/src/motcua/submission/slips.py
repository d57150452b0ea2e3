"""The slips a one-stop desk issues (Decree 61/2018/NĐ-CP, amended by 107/2021/NĐ-CP), read from the history.

Each slip belongs to one entry of a dossier's history, so it is written once, in the same transaction as
the move it records, and reads the same every time it is opened: the receipt and appointment slip when
intake accepts, the supplement request when more is asked for, the refusal with its reasons, and the
apology with its new date when the agency will be late.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from motcua.common.errors import NotFound
from motcua.common.slip_document import TITLES, SlipKind
from motcua.submission.model import Application, HistoryEntry
from motcua.submission.workflow import Action

KIND_OF: dict[Action, SlipKind] = {
    Action.ACCEPT: SlipKind.RECEIPT,
    Action.REQUEST_SUPPLEMENT: SlipKind.SUPPLEMENT_REQUEST,
    Action.REJECT: SlipKind.REFUSAL,
    Action.APOLOGISE: SlipKind.APOLOGY,
}


class SlipNotFound(NotFound):
    title = "Slip not found"


@dataclass(frozen=True)
class Slip:
    """One slip: what it is, when it was issued, what it says (the officer's words) and the date it promises."""

    id: str
    kind: SlipKind
    issued_at: datetime
    text: str
    due_date: date | None
    previous_due_date: date | None = None
    items: list[str] = field(default_factory=list)  # a supplement request: every missing item
    supply_by: date | None = None

    @property
    def title(self) -> str:
        return TITLES[self.kind][0]

    @property
    def title_en(self) -> str:
        return TITLES[self.kind][1]


def slip_id(kind: SlipKind, index: int) -> str:
    """The slip of the `index`-th history entry: stable, since history is only ever appended to."""
    return f"{kind.value}-{index}"


def _slip(index: int, entry: HistoryEntry, previous: date | None) -> Slip | None:
    kind = KIND_OF.get(entry.action) if entry.action is not None else None
    if kind is None:
        return None
    return Slip(
        id=slip_id(kind, index),
        kind=kind,
        issued_at=entry.at,
        text=entry.comment,
        due_date=entry.due_date,
        previous_due_date=previous if kind == SlipKind.APOLOGY else None,
        items=list(entry.items),
        supply_by=entry.supply_by,
    )


def slips_of_entry(app: Application, index: int) -> Slip | None:
    """The slip the `index`-th history entry issued, if any."""
    previous: date | None = None
    for entry in app.history[:index]:
        previous = entry.due_date or previous
    return _slip(index, app.history[index], previous)


def slips_of(app: Application) -> list[Slip]:
    """Every slip of the dossier, oldest first."""
    found: list[Slip] = []
    previous: date | None = None
    for index, entry in enumerate(app.history):
        slip = _slip(index, entry, previous)
        if slip is not None:
            found.append(slip)
        previous = entry.due_date or previous
    return found


def find(app: Application, wanted: str) -> Slip:
    """The slip `wanted` of `app`; SlipNotFound (404) otherwise."""
    for slip in slips_of(app):
        if slip.id == wanted:
            return slip
    raise SlipNotFound(f"No slip {wanted} in this application.")
