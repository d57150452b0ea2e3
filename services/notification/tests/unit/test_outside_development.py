"""A production deployment refuses the settings that would put codes in a log or credentials on the wire.

`make run` is a development deployment (DEPLOYMENT_ENVIRONMENT=development: the log SMS provider, plain
http SMS webhooks on this machine); anything else is production, and the service refuses to start with
one clear line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import structlog
from motcua.common.logging import configure
from motcua.notification.settings import Settings
from pydantic import ValidationError

PRODUCTION = {
    "DEPLOYMENT_ENVIRONMENT": "production",
    "MAIL_FROM": "Một cửa <no-reply@motcua.gov.vn>",
    "SMS_PROVIDER": "webhook",
    "SMS_WEBHOOK_URL": "https://sms.example.vn/send",
    "SMTP_HOST": "smtp.example.vn",
    "SMTP_PORT": "587",
}


def start(**changes: str) -> subprocess.CompletedProcess[str]:
    """`python -m motcua.notification` with a production environment and these changes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_", "SMTP_", "DEPLOYMENT_"))}
    env |= PRODUCTION | changes
    return subprocess.run(
        [sys.executable, "-m", "motcua.notification"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SMS_PROVIDER": "log"}, "SMS_PROVIDER=log"),
        ({"SMS_WEBHOOK_URL": "http://sms.example.vn/send"}, "SMS_WEBHOOK_URL"),
        ({"SMTP_USERNAME": "motcua", "SMTP_PASSWORD": "mat-khau-that", "SMTP_STARTTLS": "false"}, "SMTP_STARTTLS"),
    ],
)
def test_production_refuses_to_start_with_codes_in_the_log_or_secrets_in_clear(
    changes: dict[str, str], named: str
) -> None:
    refused = start(**changes)
    assert refused.returncode != 0
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert named in lines[0]
    assert "mat-khau-that" not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr


def test_production_accepts_credentials_over_tls() -> None:
    values: dict[str, Any] = {k.lower(): v for k, v in PRODUCTION.items()}
    Settings(**values, smtp_username="motcua", smtp_password="x", smtp_starttls=True)
    Settings(**{**values, "smtp_port": 465}, smtp_username="motcua", smtp_password="x", smtp_tls=True)
    with pytest.raises(ValidationError, match="one of SMTP_STARTTLS and SMTP_TLS"):
        Settings(**values, smtp_starttls=True, smtp_tls=True)


def test_development_allows_the_log_provider_and_a_local_http_webhook() -> None:
    assert Settings(deployment_environment="development", sms_provider="log").sms_provider == "log"
    Settings(deployment_environment="development", sms_provider="webhook", sms_webhook_url="http://127.0.0.1:9/sms")
    with pytest.raises(ValidationError, match="SMS_WEBHOOK_URL"):
        # plain http in development only to this machine
        Settings(deployment_environment="development", sms_provider="webhook", sms_webhook_url="http://sms.example.vn/")


def test_an_sms_text_is_never_written_to_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    configure(service="notification", fmt="json")
    structlog.get_logger("test").info("sms_sent", to="+84901234567", sms_text="Mã xác thực Một cửa: 777888")
    written = capsys.readouterr().out
    assert "777888" not in written
    assert '"sms_text": "[redacted]"' in written
