"""structlog set up once per process: one JSON object per line, bound to request and event ids."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "mfa_token",
        "code",
        "secret",
        "authorization",
        "verification_url",
        "reset_url",
        "otpauth_uri",
        "recovery_codes",
        "sms_text",  # a verification SMS is its code
    }
)


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Last line of defence: a field named like a secret never reaches the log."""
    for key in event_dict.keys() & _SECRET_KEYS:
        event_dict[key] = "[redacted]"
    return event_dict


class _CurrentStdout(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on `sys.stdout` as it is at each record (as structlog's `PrintLoggerFactory()` is), not on
    the stream that was `sys.stdout` when logging was configured, since replaced and closed."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure(*, service: str, fmt: str = "json", level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # the standard output as it is when a line is written, not as it was at configure time: a stream
        # replaced and closed since (a test's captured output) must never make a log call raise
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = _CurrentStdout()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "pymongo", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
