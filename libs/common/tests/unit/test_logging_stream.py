"""A log line never raises, nor is lost, because the standard output logging was configured with has since been
replaced and closed (as pytest closes a finished test's captured output)."""

import io
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog
from motcua.common import logging as service_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The process's logging set-up as it was before the test."""
    config, handlers, level = structlog.get_config(), logging.getLogger().handlers[:], logging.getLogger().level
    yield
    structlog.configure(**config)
    logging.getLogger().handlers[:] = handlers
    logging.getLogger().setLevel(level)


@pytest.mark.usefixtures("restored_logging")
def test_a_log_line_after_the_configured_stdout_closed_goes_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    service_logging.configure(service="test", fmt="json", level="INFO")
    first.close()
    monkeypatch.setattr(sys, "stdout", second)
    structlog.get_logger("consumer").warning("consumer_commit_failed", group="g")
    logging.getLogger("aiokafka").warning("Heartbeat failed: local member_id was not recognized")
    written = second.getvalue()
    assert '"event": "consumer_commit_failed"' in written
    assert "Heartbeat failed" in written
