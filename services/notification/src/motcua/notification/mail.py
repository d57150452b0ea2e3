"""Email over SMTP (aiosmtplib): one connection, reused and re-opened when dropped; STARTTLS and login
when configured; each failure classified as retryable, permanent or ambiguous (never resent).

The SMTP transaction is driven step by step so a failure can be placed: before the message was handed
over (safe to retry), or after (a broken connection then may hide an accepted message). The hand-over
is the end-of-data line: a server keeps nothing of a message whose "." never came (RFC 5321 §4.1.1.4),
so everything up to it (MAIL, RCPT, DATA and the whole content) is sent first, the delivery is marked
handed over, and only then does the "." follow.
"""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import datetime
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import cast

import structlog
from aiosmtplib import SMTP, SMTPDataError, SMTPException, SMTPResponseException
from aiosmtplib.protocol import PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings
from motcua.notification.deliveries import Delivery
from motcua.notification.model import (
    AmbiguousSendError,
    PermanentSendError,
    ProviderDown,
    RetryableSendError,
    SendError,
    usable_email,
)
from motcua.notification.senders import HandOver
from motcua.notification.settings import Settings

log = structlog.get_logger(__name__)


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # 7-bit clean bodies that any server relays


def _header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, "utf-8")


def _address(name: str, address: str) -> str | Header:
    """A name and address; a Vietnamese name as RFC 2047 encoded-words (split at characters, never dropping spaces)."""
    if not name or name.isascii():
        return formataddr((name, address))
    header = Header(name, "utf-8")
    header.append(f" <{address}>", "us-ascii")
    return header


def build_email(delivery: Delivery, settings: Settings, *, now: datetime) -> bytes:
    """The MIME message of an email delivery: UTF-8 text and HTML alternatives, encoded-word headers.

    Python's own header folder drops the space between two encoded-words on some Vietnamese subjects, so
    headers go through `email.header.Header`, which folds correctly. A non-ASCII address (which needs a
    server with SMTPUTF8 anyway) is written with raw UTF-8 headers instead.
    """
    content = delivery.content()
    recipient = delivery.recipient
    if not usable_email(recipient):
        raise PermanentSendError("the email address cannot be used")
    sender_name, sender = parseaddr(settings.mail_from)
    identity = {
        "Date": format_datetime(now),
        "Message-ID": f"<{delivery.id}@{sender.rpartition('@')[2]}>",
        "Auto-Submitted": "auto-generated",
        "X-Motcua-Delivery-Id": delivery.id,
    }
    if not recipient.isascii():
        modern = EmailMessage(policy=policy.SMTPUTF8)
        modern["Subject"] = content["subject"]
        modern["From"] = settings.mail_from
        modern["To"] = formataddr((content.get("to_name", ""), recipient))
        for name, value in identity.items():
            modern[name] = value
        modern.set_content(content["text"], charset="utf-8", cte="quoted-printable")
        modern.add_alternative(content["html"], subtype="html", charset="utf-8", cte="quoted-printable")
        if "attachment_base64" in content:
            maintype, _, subtype = content["attachment_type"].partition("/")
            data = base64.b64decode(content["attachment_base64"])
            modern.add_attachment(data, maintype=maintype, subtype=subtype, filename=content["attachment_name"])
        return modern.as_bytes()
    alternatives = MIMEMultipart("alternative")
    alternatives.attach(MIMEText(content["text"], "plain", _UTF8))  # type: ignore[arg-type]
    alternatives.attach(MIMEText(content["html"], "html", _UTF8))  # type: ignore[arg-type]
    message = alternatives
    if "attachment_base64" in content:  # a slip: the text and HTML alternatives, then the file
        message = MIMEMultipart("mixed")
        message.attach(alternatives)
        subtype = content["attachment_type"].partition("/")[2]
        attached = MIMEApplication(base64.b64decode(content["attachment_base64"]), _subtype=subtype)
        attached.add_header("Content-Disposition", "attachment", filename=content["attachment_name"])
        message.attach(attached)
    headers = cast("Message[str, str | Header]", message)  # compat32 takes Header objects as values
    headers["Subject"] = _header(content["subject"])
    headers["From"] = _address(sender_name, sender)
    headers["To"] = _address(content.get("to_name", ""), recipient)
    for name, value in identity.items():
        message[name] = value
    return message.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


_END_OF_DATA = b".\r\n"


def data_lines(message: bytes) -> bytes:
    """The message as DATA carries it, all but the end-of-data line: CRLF line ends, a leading "." doubled
    (as aiosmtplib's own `data()` prepares it)."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message))


def _refused(exc: SMTPResponseException) -> SendError:
    answer = f"{exc.code} {' '.join(exc.message.split())}"[:300]
    return RetryableSendError(answer) if 400 <= exc.code < 500 else PermanentSendError(answer)


class Mailer:
    """Sends email deliveries one at a time over one SMTP connection."""

    channel = "email"
    concurrency = 1

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: SMTP | None = None
        self._lock = asyncio.Lock()
        self._last_used = 0.0

    async def send(self, delivery: Delivery, *, now: datetime, hand_over: HandOver) -> str:
        """Hand the message to the SMTP server; its answer, or a classified SendError."""
        content = data_lines(build_email(delivery, self._settings, now=now))
        recipient = delivery.recipient
        timeout = self._settings.smtp_timeout_seconds
        async with self._lock:
            client = await self._connected()
            options: list[str] = []
            if not recipient.isascii():
                if not client.supports_extension("smtputf8"):
                    raise PermanentSendError("the server cannot take a non-ASCII address (no SMTPUTF8)")
                options = ["SMTPUTF8"]
            encoding = "utf-8" if options else "ascii"
            try:
                async with asyncio.timeout(timeout):
                    await client.mail(self._settings.envelope_sender, options=options, encoding=encoding)
                    await client.rcpt(recipient, encoding=encoding)
                    started = await client.execute_command(b"DATA")
                    if started.code != 354:
                        raise SMTPDataError(started.code, started.message)
                    protocol = self._protocol(client)
                    protocol.write(content)
                    await self._flushed(protocol)
            except SMTPResponseException as exc:
                await self._reset()
                raise _refused(exc) from exc
            except (SMTPException, OSError, TimeoutError) as exc:
                self._drop()
                reason = f"connection lost before the message was handed over: {type(exc).__name__}"
                raise RetryableSendError(reason) from exc
            try:
                await hand_over()
            except BaseException:
                self._drop()  # the "." never comes: the server drops what it has of this message
                raise
            try:
                protocol.write(_END_OF_DATA)  # straight after the mark, nothing awaited in between
                response = await protocol.read_response(timeout=timeout)
            except (SMTPException, OSError, TimeoutError) as exc:
                self._drop()
                reason = f"connection lost after the message was handed over: {type(exc).__name__}"
                raise AmbiguousSendError(reason) from exc
            if response.code != 250:
                await self._reset()
                raise _refused(SMTPDataError(response.code, response.message))
            self._last_used = time.monotonic()
            return f"{response.code} {' '.join(response.message.split())}"[:300]

    @staticmethod
    def _protocol(client: SMTP) -> SMTPProtocol:
        if client.protocol is None:
            raise SMTPException("the connection closed")
        return client.protocol

    async def _flushed(self, protocol: SMTPProtocol) -> None:
        """Wait until the content has left the process: what is still in its buffer when it dies is lost,
        and then the "." after the mark would be too."""
        transport = cast("asyncio.WriteTransport | None", protocol.transport)
        # asyncio signals only a buffer below its low-water mark, not an empty one: look every millisecond
        while transport is not None and not transport.is_closing() and transport.get_write_buffer_size():  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        if transport is None or transport.is_closing():
            raise SMTPException("the connection closed while the message was being written")

    async def close(self) -> None:
        """Say goodbye to the server, if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await asyncio.wait_for(client.quit(), 2.0)
            except (SMTPException, OSError, TimeoutError):
                client.close()

    async def _connected(self) -> SMTP:
        client = self._client
        idle = time.monotonic() - self._last_used
        if client is not None and client.is_connected and idle > self._settings.smtp_idle_check_seconds:
            try:  # an idle connection may have been closed by the server: find out before a message is at stake
                await client.noop(timeout=self._settings.smtp_timeout_seconds)
            except (SMTPException, OSError, TimeoutError):
                self._drop()
        if self._client is not None and self._client.is_connected:
            return self._client
        self._drop()
        s = self._settings
        client = SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password.get_secret_value() or None,
            local_hostname=s.smtp_local_hostname or None,
            timeout=s.smtp_timeout_seconds,
            start_tls=s.smtp_starttls,
            use_tls=s.smtp_tls,
            validate_certs=s.smtp_validate_certs,
            cert_bundle=s.smtp_ca_file or None,
        )
        try:
            await client.connect()
        except SMTPResponseException as exc:
            client.close()
            log.warning("smtp_connect_refused", code=exc.code)
            raise ProviderDown(f"SMTP server refused the session: {exc.code}") from exc
        except (SMTPException, OSError, TimeoutError) as exc:
            client.close()
            log.warning("smtp_unreachable", host=s.smtp_host, port=s.smtp_port, error=type(exc).__name__)
            raise ProviderDown(f"SMTP server unreachable: {type(exc).__name__}") from exc
        self._client = client
        self._last_used = time.monotonic()
        log.info("smtp_connected", host=s.smtp_host, port=s.smtp_port, starttls=s.smtp_starttls, tls=s.smtp_tls)
        return client

    async def _reset(self) -> None:
        """After a refused MAIL/RCPT/DATA the session needs RSET before the next message."""
        if self._client is None:
            return
        try:
            await self._client.rset(timeout=self._settings.smtp_timeout_seconds)
        except (SMTPException, OSError, TimeoutError):
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
