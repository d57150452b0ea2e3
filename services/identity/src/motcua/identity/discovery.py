"""The signing keys (JWKS) every service verifies tokens with, and the OpenID discovery document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from motcua.identity.deps import IdentityDep
from motcua.identity.keys import ALGORITHM

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/jwks.json")
async def jwks(idn: IdentityDep, response: Response) -> dict[str, Any]:
    """The public keys access tokens are signed with: the current one, and recent previous ones (rotation)."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await idn.keyring.jwks()


@router.get("/.well-known/openid-configuration")
async def openid_configuration(idn: IdentityDep, response: Response) -> dict[str, Any]:
    """OpenID Provider metadata: where the keys are and what the tokens look like."""
    base = idn.settings.public_base
    response.headers["Cache-Control"] = "public, max-age=300"
    return {
        "issuer": idn.settings.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/v1/auth/login",
        "userinfo_endpoint": f"{base}/v1/accounts/me",
        "registration_endpoint": f"{base}/v1/accounts",
        "revocation_endpoint": f"{base}/v1/auth/logout",
        "response_types_supported": ["token"],
        "grant_types_supported": ["password", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": [
            "iss",
            "aud",
            "sub",
            "iat",
            "nbf",
            "exp",
            "jti",
            "typ",
            "roles",
            "agency",
            "account_type",
            "locale",
            "sid",
            "amr",
        ],
        "ui_locales_supported": ["vi", "en"],
    }
