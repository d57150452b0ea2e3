"""A log line never raises because the standard output it was configured with has since been replaced and closed."""

import io
import sys

import pytest
import structlog
from motcua.common import logging as service_logging


def test_a_log_line_after_the_configured_stdout_closed_goes_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    service_logging.configure(service="test", fmt="json", level="INFO")
    first.close()  # as pytest closes a finished test's captured output
    monkeypatch.setattr(sys, "stdout", second)
    structlog.get_logger("consumer").warning("consumer_commit_failed", group="g")
    assert '"event": "consumer_commit_failed"' in second.getvalue()
