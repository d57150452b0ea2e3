"""The whole platform as `make run` starts it, with a mail server and an SMS endpoint the test reads.

Separate processes for the five services and the local MongoDB- and Kafka-protocol servers (from
`motcua.common.devservers.start_platform`), an aiosmtpd SMTP server and an HTTP endpoint standing
for the SMS provider (SMS_PROVIDER=webhook). Both run in their own threads, so they keep answering
while the test waits on a blocking step (a restart).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from motcua.common import devservers

ADMIN_EMAIL = "quantri.e2e@motcua.example.vn"  # identity refuses special-use domains such as .local
ADMIN_PASSWORD = "Quản-trị-Kiểm-thử-Đầu-Cuối-2026"


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str


@dataclass
class Sms:
    to: str
    text: str
    idempotency_key: str


@dataclass
class Outbox:
    """What the platform sent: every email the SMTP server accepted, every SMS the endpoint received."""

    mails: list[Mail] = field(default_factory=list)
    sms: list[Sms] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mails_to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.to]

    def sms_to(self, phone: str) -> list[Sms]:
        with self.lock:
            return [s for s in self.sms if s.to == phone]


class KeepMail:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        with self.outbox.lock:
            self.outbox.mails.append(Mail(to=list(envelope.rcpt_tos), subject=str(message["subject"]), text=text))
        return "250 OK"


def sms_endpoint(outbox: Outbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            with outbox.lock:
                outbox.sms.append(Sms(payload["to"], payload["text"], self.headers.get("Idempotency-Key", "")))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", devservers.free_port()), Handler)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def smtp_server(outbox: Outbox) -> Iterator[tuple[str, int]]:
    port = devservers.free_port()
    controller = Controller(KeepMail(outbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


@pytest.fixture
def sms_url(outbox: Outbox) -> Iterator[str]:
    server = sms_endpoint(outbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


def _tail(log_dir: Path) -> str:
    parts = []
    for log in sorted(log_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        parts.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(parts)


@pytest.fixture
async def platform(
    tmp_path: Path, smtp_server: tuple[str, int], sms_url: str
) -> AsyncIterator[devservers.Platform]:
    """Every service and server as separate processes on free ports; stopped by PID afterwards."""
    overrides = {
        "SMTP_HOST": smtp_server[0],
        "SMTP_PORT": str(smtp_server[1]),
        "SMS_PROVIDER": "webhook",
        "SMS_WEBHOOK_URL": sms_url,
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    var = tmp_path / "var"
    try:
        running = await asyncio.to_thread(devservers.start_platform, var, overrides, free_ports=True)
    except RuntimeError as exc:
        raise AssertionError(f"the platform did not start: {exc}\n{_tail(var / 'log')}") from exc
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)
        print(_tail(var / "log"))
