"""A passkey authenticator in software, for tests: what a browser and a platform authenticator hand the relying
party in a WebAuthn ceremony, built for real (no mocking of the library that checks it).

EC P-256 keys (ES256) made with `cryptography`, attestation "none", authenticatorData with the RP id's hash,
flags and a signature counter, and clientDataJSON with the ceremony's challenge and the page's origin. Test
tooling only: never imported by a service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for extra, size in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < 1 << (8 * struct.calcsize(size)):
            return bytes([major << 5 | extra]) + struct.pack(size, value)
    raise ValueError("too large for CBOR")


def cbor(value: Any) -> bytes:
    """CBOR (RFC 8949) of the little WebAuthn needs: integers, byte and text strings, lists and maps."""
    if isinstance(value, bool) or value is None:
        raise TypeError("not needed here")
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode("utf-8")
        return _head(3, len(encoded)) + encoded
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass
class Credential:
    """One passkey held by the authenticator."""

    id: bytes
    rp_id: str
    user_handle: str
    key: ec.EllipticCurvePrivateKey
    sign_count: int = 0


class SoftwareAuthenticator:
    """Creates passkeys and signs assertions the way a browser's platform authenticator would."""

    def __init__(self, origin: str, *, verifies_user: bool = True) -> None:
        self.origin = origin
        self.verifies_user = verifies_user
        self.credentials: list[Credential] = []

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    def _flags(self, *extra: int) -> int:
        return _UP | (_UV if self.verifies_user else 0) | sum(extra)

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """The PublicKeyCredential (as JSON) of navigator.credentials.create for these creation options."""
        rp_id = str(options["rp"]["id"])
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(id=os.urandom(32), rp_id=rp_id, user_handle=str(options["user"]["id"]), key=key)
        numbers = key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        attested = bytes(16) + struct.pack(">H", len(credential.id)) + credential.id + cbor(cose)
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags(_AT)]) + struct.pack(">I", 0)
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data + attested})
        self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", str(options["challenge"]), origin)
        return _public_key_credential(
            credential,
            clientDataJSON=b64url(client_data),
            attestationObject=b64url(attestation),
            transports=["internal"],
        )

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """The assertion (as JSON) of navigator.credentials.get: signed by `credential`, or by one the options
        allow (any of this RP's, for a passwordless sign-in). `sign_count` forces the counter (a cloned key)."""
        rp_id = str(options.get("rpId"))
        allowed = {str(c["id"]) for c in options.get("allowCredentials") or []}
        if credential is None:
            credential = next(
                c for c in self.credentials if c.rp_id == rp_id and (not allowed or b64url(c.id) in allowed)
            )
        credential.sign_count = credential.sign_count + 1 if sign_count is None else sign_count
        auth_data = (
            hashlib.sha256(credential.rp_id.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", credential.sign_count)
        )
        client_data = self._client_data("webauthn.get", str(options["challenge"]), origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return _public_key_credential(
            credential,
            clientDataJSON=b64url(client_data),
            authenticatorData=b64url(auth_data),
            signature=b64url(signature),
            userHandle=credential.user_handle,
        )


def _public_key_credential(credential: Credential, **response: Any) -> dict[str, Any]:
    """A PublicKeyCredential as its JSON form (WebAuthn Level 3 `toJSON()`)."""
    raw_id = b64url(credential.id)
    return {
        "id": raw_id,
        "rawId": raw_id,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    }
