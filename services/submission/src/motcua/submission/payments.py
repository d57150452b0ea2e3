"""Paying a procedure's fee — pure: the payment status beside a dossier's status, the rules that read it,
what an IPN decides, and the interface a payment intermediary's adapter implements.

A procedure's fee is paid at submission (the default) or at result (`FeeDue`). A dossier paying at submission
is `due` from its submission, and intake accepts only a dossier that is paid or owes nothing. A dossier paying at
result owes nothing (`not_required`) while the agency processes it; issuing its result makes the fee `due`, and
the result document is withheld from the applicant until it is paid. The owner starting a payment makes it
`pending`; the provider's verified notice makes it `paid` or `failed` (a failed one may be paid again); an attempt
left unfinished past its expiry (`vnp_ExpireDate`) is given up and the fee is `due` again. A withdrawal or refusal
before processing started refunds a paid one (`refunded`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from motcua.common.errors import Conflict


class PaymentStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    DUE = "due"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


UNPAID = frozenset({PaymentStatus.DUE, PaymentStatus.PENDING, PaymentStatus.FAILED})
PAYABLE = frozenset({PaymentStatus.DUE, PaymentStatus.FAILED})


class FeeDue(StrEnum):
    """When a procedure's fee is paid: before intake accepts the dossier, or before its result is released."""

    AT_SUBMISSION = "at_submission"
    AT_RESULT = "at_result"


class Unpaid(Conflict):
    title = "Fee not paid"


class NothingToPay(Conflict):
    title = "Nothing to pay"


def at_submission(fee_vnd: int, fee_due: FeeDue = FeeDue.AT_SUBMISSION) -> PaymentStatus:
    """What a dossier owes once submitted: a fee above zero paid at submission is paid before intake accepts it;
    one paid at result is owed only once the result is issued."""
    return PaymentStatus.DUE if fee_vnd > 0 and fee_due == FeeDue.AT_SUBMISSION else PaymentStatus.NOT_REQUIRED


def at_result(status: PaymentStatus, fee_vnd: int, fee_due: FeeDue) -> PaymentStatus:
    """What a dossier owes once its result is issued: a fee paid at result becomes due."""
    if fee_due == FeeDue.AT_RESULT and fee_vnd > 0 and status == PaymentStatus.NOT_REQUIRED:
        return PaymentStatus.DUE
    return status


def withholds_result(status: PaymentStatus) -> bool:
    """Whether the result document waits for the fee (only a fee paid at result is still unpaid once issued)."""
    return status in UNPAID


def check_released(status: PaymentStatus, fee_vnd: int) -> None:
    """Unpaid (409) while the result waits for its fee."""
    if withholds_result(status):
        raise Unpaid(
            f"The result is ready; it is released once the fee of {fee_vnd:,} VND is paid "
            f"(payment status {status.value})."
        )


def attempt_expired(expires_at: datetime | None, at: datetime, grace: timedelta) -> bool:
    """Whether an unfinished attempt is past the provider's expiry (vnp_ExpireDate) and its grace: given up."""
    return expires_at is not None and at >= expires_at + grace


def check_acceptable(status: PaymentStatus, fee_vnd: int) -> None:
    """Unpaid (409) unless the dossier's fee is paid or none is owed."""
    if status in UNPAID:
        raise Unpaid(
            f"The fee of {fee_vnd:,} VND is not paid (payment status {status.value}); "
            "the dossier can be accepted once the applicant has paid."
        )


def check_payable(status: PaymentStatus, application_status: str) -> None:
    """NothingToPay (409) unless a payment may be started now (pending: the same attempt is handed back)."""
    if status == PaymentStatus.PENDING:
        return
    if status not in PAYABLE or application_status in ("withdrawn", "rejected", "draft"):
        raise NothingToPay(f"Nothing to pay for this dossier (payment status {status.value}).")


def refund_due(status: PaymentStatus, *, to_status: str, ever_accepted: bool) -> bool:
    """A paid fee comes back when the dossier is withdrawn or refused before processing started."""
    return status == PaymentStatus.PAID and to_status in ("withdrawn", "rejected") and not ever_accepted


IpnCode = Literal["00", "01", "02", "04", "97", "99"]


@dataclass(frozen=True)
class Verdict:
    """What an IPN decides: the code answered and, for a first valid notice, the payment's new status."""

    code: IpnCode
    settles_to: PaymentStatus | None = None
    reason: str = ""


def judge_notice(
    *,
    signature_ok: bool,
    order_status: PaymentStatus | None,
    order_amount_vnd: int | None,
    notice_amount_vnd: int | None,
    currency_ok: bool,
    succeeded: bool,
    order_expired: bool = False,
) -> Verdict:
    """VNPAY's order of checks: signature (97), order known (01), amount and currency (04), not yet confirmed
    (02); then confirmed (00) as paid or failed. An attempt given up as expired (`order_expired`) was confirmed
    as unpaid here, but a late notice that the money was taken is still confirmed (00, paid): the money is then
    kept if the fee is still owed, refunded if not."""
    if not signature_ok:
        return Verdict("97", reason="invalid signature")
    if order_status is None:
        return Verdict("01", reason="unknown order")
    if notice_amount_vnd != order_amount_vnd or not currency_ok:
        return Verdict("04", reason="amount or currency differs from the order")
    if order_expired and succeeded:
        return Verdict("00", settles_to=PaymentStatus.PAID, reason="paid after the attempt expired")
    if order_status != PaymentStatus.PENDING or order_expired:
        return Verdict("02", reason="already confirmed")
    return Verdict("00", settles_to=PaymentStatus.PAID if succeeded else PaymentStatus.FAILED)


@dataclass(frozen=True)
class Checkout:
    """A payment attempt the provider is asked to collect."""

    txn_ref: str
    amount_vnd: int
    order_info: str
    return_url: str
    ip_addr: str
    created_at: datetime
    expires_at: datetime  # the provider's page takes the payment until then


@dataclass(frozen=True)
class Settlement:
    """What the provider says of an attempt, from a transaction query."""

    found: bool
    succeeded: bool
    final: bool  # a paid or failed attempt; not final: the citizen may still be on the provider's page
    transaction_no: str = ""
    answered: bool = True  # False: unreachable, or an answer not signed by the provider (nothing is known)
    response_code: str = ""


class PaymentProvider(Protocol):
    """An intermediary's adapter: its checkout address, its notices, its query and refund APIs."""

    name: str

    def checkout_url(self, checkout: Checkout) -> str: ...

    async def query(self, txn_ref: str, created_at: datetime) -> Settlement: ...

    async def refund(
        self, txn_ref: str, amount_vnd: int, transaction_no: str, created_at: datetime, by: str
    ) -> bool: ...
