"""Where the running platform's emails and SMS land in a test: a real SMTP server and a real SMS webhook.

The end-to-end, browser and pressure suites start the platform as `make run` does and read what it
sent the way a person would: the link in the email, the code in the SMS. `SmtpCapture` is an
aiosmtpd server on a free TCP port; `SmsEndpoint` an HTTP server standing for the SMS provider
(`SMS_PROVIDER=webhook`), answering 202. Each serves from its own thread, so both keep answering
while the test blocks (a service restart, `asyncio.to_thread`), and each keeps what it received
behind a lock. `Outbox` runs the two together and gives the settings that point the platform at them.

Development and test tooling only (aiosmtpd is a dev dependency, like `mailsink`).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

from aiosmtpd.controller import Controller
from motcua.devtools import devservers
from motcua.devtools.testing import eventually

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted: envelope recipients, what a reader sees, and the bytes."""

    to: tuple[str, ...]
    subject: str
    text: str  # the text/plain part ("" when there is none)
    message_id: str
    raw: bytes
    at: float  # wall-clock time it was accepted


@dataclass(frozen=True)
class Sms:
    """One text the SMS endpoint was sent, with the Idempotency-Key the sender gave it."""

    to: str
    text: str
    idempotency_key: str
    at: float


Key = TypeVar("Key", bound=Hashable)


def _repeats(keys: Iterable[Key]) -> list[Key]:
    """The keys that occur more than once."""
    return [key for key, n in Counter(keys).items() if n > 1]


async def _wait_for(texts: Callable[[], list[str]], pattern: str, timeout: float) -> str:
    """Waits until one of `texts()` matches `pattern`: the match's first group, or the match without groups."""

    async def found() -> str | None:
        for text in texts():
            if match := re.search(pattern, text):
                return match.group(1) if match.re.groups else match.group(0)
        return None

    first: str = await eventually(found, timeout=timeout, interval=0.2)
    return first


class _Server:
    """`with server:` starts it, and stops it again however the block ends."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SmtpCapture(_Server):
    """A real SMTP server (aiosmtpd, its own thread, a free port) keeping every message it accepts."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = devservers.free_port()
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller: Any = None

    @property
    def settings(self) -> dict[str, str]:
        """The platform's settings that send its email here."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port)}

    def start(self) -> None:
        self._controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: called in the server's thread once a message is in."""
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        mail = Mail(
            tuple(envelope.rcpt_tos), str(message["subject"]), text, str(message["message-id"] or ""), raw, time.time()
        )
        with self._lock:
            self._mails.append(mail)
        return "250 OK"

    @property
    def mails(self) -> list[Mail]:
        """Every message so far, in the order accepted."""
        with self._lock:
            return list(self._mails)

    def to(self, address: str) -> list[Mail]:
        """The messages with `address` among their envelope recipients."""
        return [m for m in self.mails if address in m.to]

    def with_subject(self, *marks: str) -> list[Mail]:
        """The messages whose subject contains any of `marks` (one per language, say)."""
        return [m for m in self.mails if any(mark in m.subject for mark in marks)]

    def repeated(self, addresses: set[str]) -> list[tuple[tuple[str, ...], str]]:
        """(recipients, subject) of the messages to these addresses that arrived more than once."""
        return _repeats((m.to, m.subject) for m in self.mails if addresses & set(m.to))

    async def find(self, address: str, pattern: str, *, timeout: float = 60.0) -> str:
        """Waits for a message to `address` whose text matches `pattern`: its first group, else the match."""
        return await _wait_for(lambda: [m.text for m in self.to(address)], pattern, timeout)


class SmsEndpoint(_Server):
    """The SMS provider's webhook as a real HTTP server: keeps each `{"to", "text"}` POSTed, answers 202."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Sms] = []
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}/sms"

    @property
    def settings(self) -> dict[str, str]:
        """The platform's settings that send its SMS here."""
        return {"SMS_PROVIDER": "webhook", "SMS_WEBHOOK_URL": self.url}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-endpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                    sms = Sms(
                        str(payload["to"]), str(payload["text"]), self.headers.get("Idempotency-Key", ""), time.time()
                    )
                except (ValueError, KeyError, TypeError):
                    self._answer(400)
                    return
                with endpoint._lock:
                    endpoint._messages.append(sms)
                self._answer(202)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    @property
    def messages(self) -> list[Sms]:
        """Every text so far, in the order received."""
        with self._lock:
            return list(self._messages)

    def to(self, phone: str) -> list[Sms]:
        """The texts sent to this number (as the platform writes it: +84…)."""
        return [s for s in self.messages if s.to == phone]

    def repeated(self, phones: set[str]) -> list[tuple[str, str]]:
        """(number, text) of the texts to these numbers that arrived more than once at the same number."""
        return _repeats((s.to, s.text) for s in self.messages if s.to in phones)

    async def find(self, phone: str, pattern: str, *, timeout: float = 60.0) -> str:
        """Waits for a text to `phone` matching `pattern`: its first group, else the match."""
        return await _wait_for(lambda: [s.text for s in self.to(phone)], pattern, timeout)


@dataclass
class Outbox(_Server):
    """What the platform sent: its SMTP server and its SMS endpoint, started and stopped together."""

    mail: SmtpCapture = field(default_factory=SmtpCapture)
    sms: SmsEndpoint = field(default_factory=SmsEndpoint)
    _running: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

    @property
    def settings(self) -> dict[str, str]:
        """The platform's settings (SMTP_*, SMS_*) that send its messages here."""
        return {**self.mail.settings, **self.sms.settings}

    def start(self) -> None:
        with contextlib.ExitStack() as starting:
            starting.enter_context(self.mail)
            starting.enter_context(self.sms)
            self._running = starting.pop_all()

    def stop(self) -> None:
        self._running.close()
