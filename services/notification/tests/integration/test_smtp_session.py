import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from motcua.devtools.testing_messages import SmtpCapture
from motcua.notification.deliveries import Delivery
from motcua.notification.mail import Mailer
from motcua.notification.model import AmbiguousSendError, PermanentSendError, ProviderDown, RetryableSendError
from motcua.notification.settings import Settings


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _delivery(to: str) -> Delivery:
    return Delivery(
        id=uuid.uuid4().hex,
        cause_event_id=uuid.uuid4().hex,
        cause_event_type="test",
        channel="email",
        recipient=to,
        message={"subject": "Thử nghiệm", "text": "Xin chào", "html": "<p>Xin chào</p>", "to_name": "Bạn"},
    )


async def test_email_goes_over_starttls_with_login_on_one_reused_connection_and_failures_are_classified(
    tmp_path: Path, hand_overs: Any
) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    relay = SmtpCapture(tls_context=context, credentials=("motcua", "s3cret-pw"))
    relay.refuse("nobody@example.vn", "550 5.1.1 no such user")
    relay.refuse("busy@example.vn", "451 4.3.0 try again later")
    relay.cut_after_data("cut@example.vn")
    relay.start()
    settings = Settings(
        deployment_environment="development",
        smtp_port=relay.port,
        smtp_starttls=True,
        smtp_ca_file=str(cert),
        smtp_username="motcua",
        smtp_password="s3cret-pw",
        smtp_timeout_seconds=3,
        smtp_idle_check_seconds=0,
    )
    mailer = Mailer(settings)
    now = dt.datetime.now(dt.UTC)
    try:
        assert (await mailer.send(_delivery("an@example.vn"), now=now, hand_over=hand_overs)).startswith("250")
        assert (await mailer.send(_delivery("binh@example.vn"), now=now, hand_over=hand_overs)).startswith("250")
        first, second = relay.mails
        assert first.authenticated
        assert first.peer == second.peer  # one connection, reused
        assert hand_overs.count == 2

        with pytest.raises(PermanentSendError, match=r"^550"):
            await mailer.send(_delivery("nobody@example.vn"), now=now, hand_over=hand_overs)
        with pytest.raises(RetryableSendError, match=r"^451"):
            await mailer.send(_delivery("busy@example.vn"), now=now, hand_over=hand_overs)
        still_usable = await mailer.send(_delivery("chi@example.vn"), now=now, hand_over=hand_overs)
        assert still_usable.startswith("250")
        assert relay.mails[-1].peer == first.peer
        assert hand_overs.count == 3  # refused at RCPT: never handed over

        with pytest.raises(AmbiguousSendError):
            await mailer.send(_delivery("cut@example.vn"), now=now, hand_over=hand_overs)
        assert hand_overs.count == 4  # the server had it all when the connection broke

        await asyncio.to_thread(relay.stop)
        with pytest.raises(ProviderDown):
            await mailer.send(_delivery("dung@example.vn"), now=now, hand_over=hand_overs)
        relay.start()  # back on the same port
        reconnected = await mailer.send(_delivery("dung@example.vn"), now=now, hand_over=hand_overs)
        assert reconnected.startswith("250")
        assert relay.mails[-1].peer != first.peer

        wrong = Mailer(Settings(**{**settings.model_dump(), "smtp_password": "wrong"}))
        with pytest.raises(ProviderDown):
            await wrong.send(_delivery("em@example.vn"), now=now, hand_over=hand_overs)
        await wrong.close()
    finally:
        await mailer.close()
        await asyncio.to_thread(relay.stop)


async def test_a_message_whose_hand_over_was_refused_never_reaches_the_server(hand_overs: Any) -> None:
    relay = SmtpCapture()
    relay.start()
    mailer = Mailer(Settings(deployment_environment="development", smtp_port=relay.port, smtp_timeout_seconds=3))
    now = dt.datetime.now(dt.UTC)
    try:
        hand_overs.refuse = True  # the mark could not be written: the whole message but its "." is with the server
        with pytest.raises(RetryableSendError, match="not handed over"):
            await mailer.send(_delivery("an@example.vn"), now=now, hand_over=hand_overs)
        await asyncio.sleep(0.2)
        assert relay.mails == []  # without the end-of-data line the server kept nothing

        hand_overs.refuse = False
        dotted = _delivery("an@example.vn")
        dotted.content()["text"] = "Xin chào\n.\n.. hai chấm\nHết"
        assert (await mailer.send(dotted, now=now, hand_over=hand_overs)).startswith("250")
        assert [m.to for m in relay.mails] == [("an@example.vn",)]
        assert hand_overs.count == 1
        text = relay.mails[0].message.get_body(("plain",))
        assert text is not None
        assert text.get_content().replace("\r\n", "\n").startswith("Xin chào\n.\n.. hai chấm\nHết")
    finally:
        await mailer.close()
        await asyncio.to_thread(relay.stop)
