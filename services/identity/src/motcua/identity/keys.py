"""Token signing keys: the Ed25519 key file, its RFC 7638 `kid`, and the published key set.

Every replica signs with the key in IDENTITY_SIGNING_KEY_FILE (created on first start, mode 0600)
and records its public half in the database. The JWKS lists the current key and every key some
replica signed with in the last IDENTITY_KEY_RETENTION_HOURS, so when the file changes, tokens
signed with the previous key keep verifying until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.types import Options
from motcua.common.auth import Principal, TokenVerifier
from motcua.common.errors import Unauthenticated

ALGORITHM = "EdDSA"
_REQUIRED: Options = {"require": ["exp", "iat", "sub", "iss", "aud"]}
Jwk = dict[str, Any]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Jwk) -> str:
    """RFC 7638 thumbprint of an OKP key (RFC 8037 §A.3): the key's stable `kid`."""
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _b64url(hashlib.sha256(canonical).digest())


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The private key in `path`, generated (PKCS#8 PEM, mode 0600) when the file does not exist."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another replica sharing the volume wrote it first
            pem = path.read_bytes()
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            return key
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


@dataclass(frozen=True)
class SigningKey:
    """The key this replica signs access tokens with."""

    private: Ed25519PrivateKey

    @cached_property
    def jwk(self) -> Jwk:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        public = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
        return {**public, "kid": thumbprint(public), "alg": ALGORITHM, "use": "sig"}

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})


KeySource = Callable[[], Awaitable[list[Jwk]]]


class Keyring:
    """The current signing key, the published key set, and verification of this service's own tokens.

    Routes here authenticate callers with the same `TokenVerifier` every service uses, fed from the
    database's key set instead of an HTTP fetch of our own JWKS.
    """

    def __init__(self, current: SigningKey, *, issuer: str, audience: str, reload_floor: float = 5.0) -> None:
        self.current = current
        self._issuer = issuer
        self._audience = audience
        self._source: KeySource | None = None
        self._reload_floor = reload_floor
        self._loaded_at = 0.0
        self._published: list[Jwk] = [current.jwk]
        self._verifier = self._make_verifier()

    def _make_verifier(self) -> TokenVerifier:
        return TokenVerifier(issuer=self._issuer, audience=self._audience, jwks={"keys": self._published})

    def attach(self, source: KeySource) -> None:
        """Where the published keys come from (the database), once it is there."""
        self._source = source
        self._loaded_at = 0.0

    async def reload(self, *, force: bool = False) -> None:
        if self._source is None:
            return
        if not force and time.monotonic() - self._loaded_at < self._reload_floor:
            return
        others = [k for k in await self._source() if k.get("kid") != self.current.kid]
        self._published = [self.current.jwk, *others]
        self._verifier = self._make_verifier()
        self._loaded_at = time.monotonic()

    async def jwks(self) -> dict[str, list[Jwk]]:
        await self.reload()
        return {"keys": list(self._published)}

    async def claims(self, token: str, *, audience: str, typ: str) -> dict[str, Any]:
        """The claims of one of our own tokens of another kind than access (`typ`, for `audience`); raises
        Unauthenticated when it is forged, expired, of another kind or for another audience."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is malformed.") from exc
        if kid not in {k["kid"] for k in self._published}:
            await self.reload()
        jwk = next((k for k in self._published if k["kid"] == kid), None)
        if jwk is None:
            raise Unauthenticated("The token was signed with an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, jwt.PyJWK(jwk), [ALGORITHM], audience=audience, issuer=self._issuer, options=_REQUIRED, leeway=10
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is not valid or has expired; sign in again.") from exc
        if claims.get("typ") != typ:
            raise Unauthenticated("This token is not of the kind this needs.")
        return claims

    async def verify(self, token: str) -> Principal:
        """The token's principal; a `kid` we do not know yet makes us look at the database first."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            kid = None
        if kid is not None and kid not in {k["kid"] for k in self._published}:
            await self.reload()
        return await self._verifier.verify(token)
