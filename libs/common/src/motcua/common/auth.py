"""Access-token verification against identity's JWKS, and FastAPI dependencies for roles.

Tokens are JWTs signed by identity with an asymmetric key (EdDSA or ES256); every service verifies
them locally against the cached key set, refetched when a token names an unknown `kid`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import httpx
import jwt
import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from motcua.common.errors import Forbidden, Unauthenticated
from motcua.common.revocation import DenyList
from pydantic import BaseModel, ConfigDict

log = structlog.get_logger(__name__)

ALGORITHMS = ["EdDSA", "ES256"]
Role = Literal["citizen", "officer", "admin"]


class Principal(BaseModel):
    """Who is calling, as the access token says."""

    model_config = ConfigDict(frozen=True)

    sub: str
    roles: list[str]
    agency: str | None = None
    # An officer's roles within their agency (`intake`, `specialist`, `approver`); none when the token has no claim.
    agency_roles: list[str] = []
    account_type: str | None = None
    locale: str = "vi"
    # The sign-in this token belongs to (`sid`): what a sign-out or password reset revokes.
    session_id: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    def has_agency_role(self, role: str) -> bool:
        """An officer holding `role` in their own agency, as the token's `agency_roles` claim says."""
        return self.has("officer") and self.agency is not None and role in self.agency_roles


class TokenVerifier:
    """Verifies access tokens; keys come from a JWKS URL (cached) or a fixed key set."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        cache_seconds: float = 300.0,
        refetch_floor_seconds: float = 10.0,
    ) -> None:
        if jwks_url is None and jwks is None:
            raise ValueError("a JWKS URL or a key set is needed")
        self._issuer = issuer
        self._audience = audience
        self._url = jwks_url
        self._cache_seconds = cache_seconds
        self._refetch_floor = refetch_floor_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if jwks is not None:
            self._load(jwks)
            self._fetched_at = float("inf")

    def _load(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
            if key.key_id:
                keys[key.key_id] = key
        self._keys = keys

    async def _refresh(self, *, force: bool) -> None:
        if self._url is None:
            return
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < self._refetch_floor or (not force and age < self._cache_seconds):
                return
            try:
                async with httpx.AsyncClient(timeout=3.0) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                    self._load(response.json())
                    self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks_fetch_failed", url=self._url, error=str(exc))

    async def _key(self, kid: str) -> jwt.PyJWK:
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("The access token was signed with an unknown key.")
        return key

    async def verify(self, token: str) -> Principal:
        """The token's principal, or Unauthenticated when it is forged, expired or malformed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The access token is malformed.") from exc
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise Unauthenticated("The access token is not signed with an accepted algorithm.")
        key = await self._key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=10,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The access token is not valid.") from exc
        if claims.get("typ", "access") != "access":
            raise Unauthenticated("This is not an access token.")
        return Principal(
            sub=str(claims["sub"]),
            roles=[str(r) for r in claims.get("roles", [])],
            agency=claims.get("agency"),
            agency_roles=[str(r) for r in claims.get("agency_roles", []) or []]
            if isinstance(claims.get("agency_roles", []), list)
            else [],
            account_type=claims.get("account_type"),
            locale=str(claims.get("locale", "vi")),
            session_id=str(claims["sid"]) if claims.get("sid") else None,
        )


_bearer = HTTPBearer(auto_error=False, description="An access token from POST /v1/auth/login")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The signed-in caller; 401 when there is no valid bearer token, or its session has ended (signed out,
    password reset or changed: the process's deny list, motcua.common.revocation)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Sign in: this needs an access token (Authorization: Bearer …).")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    deny_list: DenyList | None = getattr(request.app.state, "deny_list", None)
    if deny_list is not None and deny_list.refuses(principal.session_id):
        raise Unauthenticated("This session has ended (signed out, or the password changed); sign in again.")
    structlog.contextvars.bind_contextvars(account_id=principal.sub)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers holding any of `roles`; others get 403."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not any(principal.has(r) for r in roles):
            raise Forbidden(f"This needs the role {' or '.join(roles)}.")
        return principal

    return dependency


Citizen = Annotated[Principal, Depends(require_role("citizen"))]
Officer = Annotated[Principal, Depends(require_role("officer"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
