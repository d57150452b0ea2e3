"""Where the running platform's emails and SMS land in a test: a real SMTP server and a real SMS webhook.

The end-to-end, browser and pressure suites start the platform as `make run` does and read what it
sent the way a person would: the link in the email, the code in the SMS. `SmtpCapture` is an
aiosmtpd server on a free TCP port; `SmsEndpoint` an HTTP server standing for the SMS provider
(`SMS_PROVIDER=webhook`), answering 202. Each serves from its own thread, so both keep answering
while the test blocks (a service restart, `asyncio.to_thread`), and each keeps what it received
behind a lock. `Outbox` runs the two together and gives the settings that point the platform at them.

Both can also misbehave the way real providers do, for the failure and crash tests: the SMTP
server refuses chosen recipients (`refuse`), keeps its answer to RCPT (`hold_recipient_replies`: the
message not yet handed over) or to the end of data (`hold_data_replies`: the message in, its reply
not given) until `release()`, answers each end of data late (`answer_delay`, counting the messages
it answers at once: `most_answering`), and can be stopped and started again on the same port (an outage);
the SMS endpoint answers scripted statuses (`answer_next`), answers late (`answer_delay`), and
keeps every request with the status it got (`tried`) apart from the texts it accepted (`to`).

Development and test tooling only (aiosmtpd is a dev dependency, like `mailsink`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
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
    peer: str = ""  # the sender's address and port: one connection reused shows one peer
    authenticated: bool = False  # the sender had passed AUTH on that connection

    @property
    def message(self) -> EmailMessage:
        """The message parsed again from its bytes: headers (`["To"].addresses`), every part (`get_body`)."""
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass(frozen=True)
class Sms:
    """One text the SMS endpoint was sent, with the Idempotency-Key the sender gave it."""

    to: str
    text: str
    idempotency_key: str
    at: float


@dataclass(frozen=True)
class SmsRequest:
    """One POST the SMS endpoint answered, accepted or not: the status it got and the headers that matter."""

    to: str
    text: str
    idempotency_key: str
    authorization: str
    status: int
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
    """A real SMTP server (aiosmtpd, its own thread, a free port) keeping every message it accepts.

    `stop()` then `start()` is an outage: it comes back on the same port. A held answer waits in the
    server's thread until `release()` (or `stop()`, or a minute), so the sender can be killed meanwhile.
    """

    HOLD_LIMIT_SECONDS = 60.0

    def __init__(
        self, *, tls_context: ssl.SSLContext | None = None, credentials: tuple[str, str] | None = None
    ) -> None:
        """With `tls_context` a submission server requiring STARTTLS; with `credentials` (user, password) AUTH too."""
        self.host = HOST
        self.port = devservers.free_port()
        self._tls_context = tls_context
        self._credentials = credentials
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller: Any = None
        self._refusals: dict[str, str] = {}
        self._cuts: set[str] = set()
        self._holding_recipients = False
        self._holding_data = False
        self._held_recipients = 0
        self._released = threading.Event()
        self.answer_delay = 0.0  # seconds each end of data waits for its reply (the connection's other work waits)
        self._answering = 0
        self._most_answering = 0

    @property
    def settings(self) -> dict[str, str]:
        """The platform's settings that send its email here."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port)}

    def start(self) -> None:
        secure: dict[str, Any] = {}
        if self._tls_context is not None:
            secure |= {"tls_context": self._tls_context, "require_starttls": True}
        if self._credentials is not None:
            secure |= {"authenticator": self._authenticate, "auth_required": True}
        self._controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10, **secure)
        self._controller.start()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        given = (data.login, data.password) if isinstance(data, LoginPassword) else None
        expected = tuple(part.encode() for part in self._credentials) if self._credentials else None
        return AuthResult(success=given is not None and given == expected, handled=False)

    def stop(self) -> None:
        self.release()  # a held answer would keep the server's thread from stopping
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str, reply: str = "550 5.1.1 <mailbox unavailable>") -> None:
        """Answers RCPT for `address` with `reply` from now on (a 5xx is a permanent refusal, a 4xx a retryable one)."""
        with self._lock:
            self._refusals[address] = reply

    def cut_after_data(self, address: str) -> None:
        """For messages to `address`: takes the message (it is in `mails`), then drops the connection unanswered."""
        with self._lock:
            self._cuts.add(address)

    def hold_recipient_replies(self) -> None:
        """Keeps its answer to every RCPT until `release()`: the envelope is being given, the message is not yet
        handed over. `held_recipients` counts the recipients waiting so."""
        with self._lock:
            self._released.clear()
            self._held_recipients = 0
            self._holding_recipients = True

    def hold_data_replies(self) -> None:
        """Keeps each message it takes (it is in `mails` at once) but holds its reply to the end of data until
        `release()`: the message is handed over, the sender does not know it yet."""
        with self._lock:
            self._released.clear()
            self._holding_data = True

    def release(self) -> None:
        """Answers every held RCPT and end of data now, and holds no more."""
        with self._lock:
            self._holding_recipients = self._holding_data = False
            self._released.set()

    @property
    def held_recipients(self) -> int:
        """How many RCPT answers have been held since `hold_recipient_replies()`."""
        with self._lock:
            return self._held_recipients

    async def _wait_for_release(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._released.wait, self.HOLD_LIMIT_SECONDS)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        """aiosmtpd's hook for each recipient: refused, held, or taken."""
        with self._lock:
            refusal = self._refusals.get(address)
            hold = refusal is None and self._holding_recipients
            if hold:
                self._held_recipients += 1
        if refusal is not None:
            return refusal
        if hold:
            await self._wait_for_release()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: called in the server's thread once a message is in (kept before any held reply)."""
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        host, port = session.peer[:2] if isinstance(session.peer, tuple) else (session.peer, "")
        mail = Mail(
            tuple(envelope.rcpt_tos),
            str(message["subject"]),
            text,
            str(message["message-id"] or ""),
            raw,
            time.time(),
            peer=f"{host}:{port}",
            authenticated=bool(session.authenticated),
        )
        with self._lock:
            self._mails.append(mail)
            hold = self._holding_data
            cut = bool(self._cuts & set(envelope.rcpt_tos))
        if cut:
            server.transport.close()  # the message is in, its reply never comes
        if hold:
            await self._wait_for_release()
        if self.answer_delay:
            with self._lock:
                self._answering += 1
                self._most_answering = max(self._most_answering, self._answering)
            try:
                await asyncio.sleep(self.answer_delay)  # a slow server: other connections go on meanwhile
            finally:
                with self._lock:
                    self._answering -= 1
        return "250 OK"

    @property
    def most_answering(self) -> int:
        """The most messages this server was answering at once (slowed by `answer_delay`): the sender's parallelism."""
        with self._lock:
            return self._most_answering

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
    """The SMS provider's webhook as a real HTTP server: keeps each `{"to", "text"}` POSTed, answers 202.

    `answer_next(500, 200, 400)` scripts the statuses of the next requests (202 again once they are used);
    a text counts as accepted (`messages`, `to`) only when its answer is 2xx, while every request is kept
    with its answer (`requests`, `tried`). `answer_delay` seconds pass between a request and its answer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Sms] = []
        self._requests: list[SmsRequest] = []
        self._script: list[int] = []
        self.answer_delay = 0.0
        self._answering = 0
        self._most_answering = 0
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
                authorization = self.headers.get("Authorization", "")
                with endpoint._lock:
                    status = endpoint._script.pop(0) if endpoint._script else 202
                    endpoint._requests.append(
                        SmsRequest(sms.to, sms.text, sms.idempotency_key, authorization, status, sms.at)
                    )
                    delay = endpoint.answer_delay
                    endpoint._answering += 1
                    endpoint._most_answering = max(endpoint._most_answering, endpoint._answering)
                try:
                    if delay:
                        time.sleep(delay)  # this request's own thread
                finally:
                    with endpoint._lock:
                        endpoint._answering -= 1
                if 200 <= status < 300:
                    with endpoint._lock:
                        endpoint._messages.append(sms)
                self._answer(status)

            def _answer(self, status: int) -> None:
                with contextlib.suppress(ConnectionError):  # a sender that timed out has gone
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    @property
    def most_answering(self) -> int:
        """The most requests this endpoint was answering at once: the sender's parallelism (with `answer_delay`)."""
        with self._lock:
            return self._most_answering

    def answer_next(self, *statuses: int) -> None:
        """Answers the next requests with these statuses, in order, then 202 again."""
        with self._lock:
            self._script.extend(statuses)

    @property
    def messages(self) -> list[Sms]:
        """Every text accepted so far (answered 2xx), in the order received."""
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[SmsRequest]:
        """Every request so far, accepted or not, with the status it was answered."""
        with self._lock:
            return list(self._requests)

    def tried(self, phone: str) -> list[SmsRequest]:
        """Every request for this number, in order, whatever its answer."""
        return [r for r in self.requests if r.to == phone]

    def to(self, phone: str) -> list[Sms]:
        """The texts accepted for this number (as the platform writes it: +84…)."""
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
