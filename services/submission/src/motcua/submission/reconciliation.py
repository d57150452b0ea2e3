"""The daily reconciliation of an agency's fees — pure: each payment attempt of the day beside what the dossier
and the provider say of it, and the mismatches ("who applied and who paid")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from motcua.submission.payments import Settlement

SETTLED_PAID = frozenset({"paid", "refunding", "refunded"})  # an attempt given up unpaid is "expired"


@dataclass(frozen=True)
class Line:
    txn_ref: str
    application_id: str
    amount_vnd: int
    status: str  # the attempt's, here
    dossier_payment_status: str
    provider_status: str  # paid, failed, unfinished or unknown (the provider's querydr)
    transaction_no: str
    mismatch: str  # empty when everything agrees


def _provider_status(answer: Settlement | None) -> str:
    if answer is None or not answer.found:
        return "unknown"
    if not answer.final:
        return "unfinished"
    return "paid" if answer.succeeded else "failed"


def _mismatch(status: str, dossier: str, provider: str, refund_reason: str = "") -> str:
    if status in SETTLED_PAID and provider not in ("paid", "unknown"):
        return "recorded paid here, not paid at the provider"
    if status in SETTLED_PAID and provider == "unknown":
        return "recorded paid here, unknown to the provider"
    if status not in SETTLED_PAID and provider == "paid":
        return "paid at the provider, not recorded paid here"
    if status == "paid" and dossier != "paid":
        return f"attempt paid but the dossier is {dossier}"
    # a second payment of a fee already paid is refunded while the dossier stays paid by the first
    if status == "refunded" and dossier != "refunded" and refund_reason != "not_owed":
        return f"attempt refunded but the dossier is {dossier}"
    return ""


def reconcile(
    attempts: Iterable[Mapping[str, Any]], dossiers: Mapping[str, str], provider: Mapping[str, Settlement | None]
) -> list[Line]:
    """One line per attempt; `dossiers` maps application ids to their payment status, `provider` order references
    to the provider's answer (None: not asked or unreachable)."""
    lines = []
    for a in attempts:
        ref, status = str(a["_id"]), str(a["status"])
        answer = provider.get(ref)
        said = _provider_status(answer)
        dossier = dossiers.get(str(a["application_id"]), "unknown")
        lines.append(
            Line(
                txn_ref=ref,
                application_id=str(a["application_id"]),
                amount_vnd=int(a["amount_vnd"]),
                status=status,
                dossier_payment_status=dossier,
                provider_status=said,
                transaction_no=(answer.transaction_no if answer else "") or str(a.get("transaction_no", "")),
                mismatch=_mismatch(status, dossier, said, str(a.get("refund_reason", ""))),
            )
        )
    return lines


def as_csv(lines: list[Line]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(Line.__dataclass_fields__))
    writer.writeheader()
    for line in lines:
        writer.writerow(asdict(line))
    return out.getvalue()
