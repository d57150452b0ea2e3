"""The payment settings: VNPAY's hash secret never shows in a repr, a dump or a log; the payment page and the
merchant API are separate addresses, defaulting to the sandbox's paths under PAYMENT_PROVIDER_URL."""

from __future__ import annotations

import pytest
import structlog
from motcua.submission import payment_flow
from motcua.submission.settings import Settings
from structlog.testing import capture_logs

SECRET = "vnpay-terminal-secret-7f3c9a"


def test_the_hash_secret_is_never_in_the_settings_repr_dump_or_a_log() -> None:
    settings = Settings(vnpay_hash_secret=SECRET)
    assert settings.vnpay_hash_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in settings.model_dump_json()
    assert SECRET not in repr(settings.model_dump())
    with capture_logs() as logs:
        structlog.get_logger("test").info("settings_loaded", settings=settings, terminal=repr(settings))
    assert SECRET not in repr(logs)


def test_the_hash_secret_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VNPAY_HASH_SECRET", SECRET)
    settings = Settings()
    assert settings.vnpay_hash_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings)


def test_the_payment_page_and_the_merchant_api_default_under_the_provider_url_and_may_be_set_apart() -> None:
    local = Settings(payment_provider_url="http://127.0.0.1:8009/")
    assert local.vnpay_pay_page == "http://127.0.0.1:8009/paymentv2/vpcpay.html"
    assert local.vnpay_api == "http://127.0.0.1:8009/merchant_webapi/api/transaction"
    production = Settings(
        VNPAY_PAYMENT_URL="https://pay.vnpay.vn/vpcpay.html",
        VNPAY_API_URL="https://merchant.vnpay.vn/merchant_webapi/api/transaction",
    )
    assert production.vnpay_pay_page == "https://pay.vnpay.vn/vpcpay.html"
    assert production.vnpay_api == "https://merchant.vnpay.vn/merchant_webapi/api/transaction"


def test_without_a_hash_secret_online_payment_is_off() -> None:
    class Parts:
        settings = Settings()

    assert payment_flow.provider_of(Parts()) is None  # type: ignore[arg-type]
