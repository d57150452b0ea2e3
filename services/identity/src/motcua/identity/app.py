"""Build the identity app: routes, collections, the signing key, the TOTP keys, and the start-up work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from motcua.common.auth import TokenVerifier
from motcua.common.runtime import Background, Runtime
from motcua.common.sealing import EventSealer
from motcua.common.web import create_app
from motcua.identity import api, discovery, factor_routes, factor_store, keys, profiles, registration, twofactor
from motcua.identity.deps import Identity
from motcua.identity.factor_store import FactorStore
from motcua.identity.passwords import Hasher
from motcua.identity.sealing import Sealer
from motcua.identity.settings import Settings
from motcua.identity.store import INDEXES, Store

DESCRIPTION = (
    "Accounts of citizens, businesses, organisations, officers and admins: registration confirmed by an "
    "email link and an SMS code, sign-in with optional two-factor, rotating sessions, and the keys every "
    "service verifies access tokens with."
)


async def _keep_key_listed(idn: Identity) -> None:
    """Record now and then that this replica still signs with its key, so the JWKS keeps listing it."""
    while True:
        await asyncio.sleep(idn.settings.identity_key_heartbeat_seconds)
        await idn.store.record_key(idn.keyring.current.jwk, datetime.now(UTC))


def build_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """The identity service; the signing and TOTP keys are read (or created) now, so bad ones fail fast."""
    settings = settings or Settings()
    keyring = keys.Keyring(
        keys.SigningKey(keys.load_or_create(settings.identity_signing_key_file)),
        issuer=settings.issuer,
        audience=settings.token_audience,
    )
    # No setting: a key file beside the signing key, generated on first start like it.
    sealer = Sealer.configured(
        settings.identity_totp_encryption_keys.get_secret_value(), settings.identity_signing_key_file.parent
    )
    event_sealer = EventSealer.configured(settings.event_secret_keys.get_secret_value())
    hasher = Hasher(
        time_cost=settings.identity_argon2_time_cost,
        memory_kib=settings.identity_argon2_memory_kib,
        parallelism=settings.identity_argon2_parallelism,
        concurrency=settings.identity_hash_concurrency,
    )

    def parts(runtime: Runtime) -> Identity:
        db = runtime.db
        return Identity(
            settings, runtime.client, Store(db), runtime.outbox, hasher, keyring, sealer, event_sealer, FactorStore(db)
        )

    async def on_startup(idn: Identity) -> None:
        await idn.store.drop_retired_indexes()
        await idn.store.record_key(keyring.current.jwk, datetime.now(UTC))
        retention = timedelta(hours=settings.identity_key_retention_hours)
        keyring.attach(lambda: idn.store.keys_used_since(datetime.now(UTC) - retention))
        await keyring.reload(force=True)
        await registration.ensure_bootstrap_admin(idn)

    def background(idn: Identity) -> Background:
        # Plain or old-key TOTP secrets are sealed in the background, so a large first pass does not delay start.
        return {
            "signing-key-heartbeat": _keep_key_listed(idn),
            "totp-secret-sealing": twofactor.seal_stored_secrets(idn),
            "applicant-profile-backfill": profiles.publish_missing(idn),
        }

    app = create_app(
        settings,
        title="Mot Cua identity",
        description=DESCRIPTION,
        routers=[api.router, factor_routes.router, discovery.router],
        indexes={**INDEXES, **factor_store.INDEXES},
        parts=parts,
        on_startup=on_startup,
        background=background,
        verifier=verifier,
    )
    if verifier is None:
        # Our own routes verify tokens against the key set in our database, not over HTTP to ourselves.
        app.state.token_verifier = keyring
    return app
