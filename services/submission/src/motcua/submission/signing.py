"""The agency's signature on a result document: PAdES (pyHanko) with a visible stamp, one key per agency.

Keys come from a PKCS#12 file per agency (`RESULT_SIGNING_PKCS12_FILES`, production), or, on a developer's
machine and in tests, from a development CA made on first use under `RESULT_SIGNING_DEV_CA_DIR`: the CA's
key and certificate, then one certificate per agency issued by it the first time that agency signs.
A hardware token (PKCS#11, pyHanko's `pkcs11` signer) is the production path for agencies that keep their
key in an HSM; docs/results.md says how it plugs in here (`AgencySigners.signer_for`).
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from motcua.common.errors import Unavailable
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

log = structlog.get_logger(__name__)

FIELD_NAME = "MotCuaResult"
# Where the stamp sits on the last page (points from the bottom left): the result template leaves it free.
STAMP_BOX = (330, 36, 565, 106)
_DEV_CA_NAME = "Mot Cua development CA (not for production)"


class NoSigningKey(Unavailable):
    title = "No signing key for this agency"


@dataclass(frozen=True)
class AgencySigners:
    """Each agency's signer: its configured PKCS#12 file, or a development certificate from `dev_ca_dir`."""

    pkcs12_files: dict[str, str]
    passphrase: bytes
    dev_ca_dir: Path | None
    _cache: dict[str, signers.SimpleSigner] = field(default_factory=dict, compare=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False)

    async def signer_for(self, agency_code: str) -> signers.SimpleSigner:
        """The agency's signer, loaded once (and its development certificate made the first time)."""
        async with self._lock:
            found = self._cache.get(agency_code)
            if found is None:
                found = await asyncio.to_thread(self._load, agency_code)
                self._cache[agency_code] = found
            return found

    def _load(self, agency_code: str) -> signers.SimpleSigner:
        configured = self.pkcs12_files.get(agency_code)
        if configured:
            path, passphrase = Path(configured), self.passphrase
        elif self.dev_ca_dir is not None:
            path, passphrase = DevCA(self.dev_ca_dir).agency_pkcs12(agency_code)
        else:
            raise NoSigningKey(f"No signing key is configured for {agency_code}; the result cannot be issued yet.")
        signer: signers.SimpleSigner | None = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
            str(path), passphrase=passphrase or None
        )
        if signer is None:
            raise NoSigningKey(f"The signing key of {agency_code} could not be read.")
        log.info("signing_key_loaded", agency_code=agency_code, development=configured is None)
        return signer

    async def sign(self, pdf: bytes, agency_code: str, *, reason: str, at: datetime) -> bytes:
        """`pdf` signed PAdES B-B by `agency_code`'s key, the stamp on its last page."""
        signer = await self.signer_for(agency_code)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        last_page = int(writer.root["/Pages"]["/Count"]) - 1
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location="Viet Nam",
        )
        stamp = TextStampStyle(stamp_text="Digitally signed by\n%(signer)s\n%(ts)s", border_width=1)
        spec = fields.SigFieldSpec(FIELD_NAME, on_page=last_page, box=STAMP_BOX)
        pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=stamp, new_field_spec=spec)
        # in a worker thread: hashing and signing are CPU work the event loop must not wait on
        out = await asyncio.to_thread(pdf_signer.sign_pdf, writer)
        return out.getvalue()  # type: ignore[no-any-return]


def from_settings(pkcs12_files: dict[str, str], passphrase: str, dev_ca_dir: str) -> AgencySigners:
    return AgencySigners(
        pkcs12_files=pkcs12_files, passphrase=passphrase.encode(), dev_ca_dir=Path(dev_ca_dir) if dev_ca_dir else None
    )


@dataclass(frozen=True)
class DevCA:
    """A development CA in a directory (created on first use, files readable by this user only)."""

    root: Path

    @property
    def cert_file(self) -> Path:
        return self.root / "ca.cert.pem"

    @property
    def key_file(self) -> Path:
        return self.root / "ca.key.pem"

    def ensure(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.cert_file.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _DEV_CA_NAME)])
            cert = (
                _builder(name, name, key.public_key(), days=3650)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_usage(cert_sign=True), critical=True)
                .sign(key, hashes.SHA256())
            )
            _write_private(self.key_file, key.private_bytes(*_PEM_PKCS8, serialization.NoEncryption()))
            self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            log.info("development_ca_created", path=str(self.root))
        cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        loaded = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        return cert, loaded

    def agency_pkcs12(self, agency_code: str) -> tuple[Path, bytes]:
        """The agency's PKCS#12 file and passphrase, issued by this CA the first time."""
        ca_cert, ca_key = self.ensure()
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in agency_code)
        path = self.root / "agencies" / f"{safe}.p12"
        secret_file = path.with_suffix(".passphrase")
        if not path.exists():
            path.parent.mkdir(exist_ok=True, mode=0o700)
            key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_code),
                    x509.NameAttribute(NameOID.COMMON_NAME, agency_code),
                ]
            )
            cert = (
                _builder(subject, ca_cert.subject, key.public_key(), days=825)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_usage(cert_sign=False), critical=True)
                .sign(ca_key, hashes.SHA256())
            )
            passphrase = secrets.token_urlsafe(24).encode()
            blob = pkcs12.serialize_key_and_certificates(
                agency_code.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase)
            )
            _write_private(secret_file, passphrase)
            _write_private(path, blob)
            log.info("development_agency_certificate_created", agency_code=agency_code)
        return path, secret_file.read_bytes()


_PEM_PKCS8 = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, *, days: int
) -> x509.CertificateBuilder:
    start = datetime.now(UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
