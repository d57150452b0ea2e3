"""Which accounts must enrol a second factor, which factors finish a sign-in, and when one may be removed."""

from datetime import UTC, datetime
from typing import Any

import pytest
from motcua.identity.model import Account


def account(account_type: str, **factors: Any) -> Account:
    return Account(
        id="a1",
        account_type=account_type,  # type: ignore[arg-type]
        status="active",
        full_name="Trần Văn Bình",
        email="binh@example.vn",
        phone=None,
        locale="vi",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        mfa_enabled=bool(factors.get("totp_enabled") or factors.get("passkeys")),
        **factors,
    )


@pytest.mark.parametrize("kind", ["officer", "admin"])
def test_staff_without_a_second_factor_must_enrol_while_the_rule_is_on(kind: str) -> None:
    assert account(kind).must_enrol(staff_rule=True)
    assert not account(kind).must_enrol(staff_rule=False)
    assert not account(kind, passkeys=1).must_enrol(staff_rule=True)
    assert not account(kind, totp_enabled=True).must_enrol(staff_rule=True)


@pytest.mark.parametrize("kind", ["individual", "business", "organisation"])
def test_citizens_are_never_made_to_enrol(kind: str) -> None:
    assert not account(kind).must_enrol(staff_rule=True)


def test_the_factors_an_account_can_finish_a_sign_in_with() -> None:
    assert account("individual", totp_enabled=True).second_factors == ("totp",)
    assert account("individual", passkeys=2).second_factors == ("webauthn",)
    assert account("officer", totp_enabled=True, passkeys=1).second_factors == ("totp", "webauthn")


def test_staff_keep_a_factor_and_citizens_may_drop_their_last() -> None:
    assert not account("admin", passkeys=1).may_drop_a_factor(staff_rule=True)
    assert account("admin", passkeys=1, totp_enabled=True).may_drop_a_factor(staff_rule=True)
    assert account("admin", passkeys=2).may_drop_a_factor(staff_rule=True)
    assert account("admin", passkeys=1).may_drop_a_factor(staff_rule=False)
    assert account("individual", totp_enabled=True).may_drop_a_factor(staff_rule=True)
