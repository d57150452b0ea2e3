"""Build the catalogue's FastAPI app: routes, collections, and at start-up the seed and the search index."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI
from motcua.catalogue import api, guards, publishing
from motcua.catalogue.deps import Catalogue
from motcua.catalogue.listing import Listing
from motcua.catalogue.seed import Seed, load_seed
from motcua.catalogue.settings import Settings
from motcua.catalogue.store import INDEXES, Store
from motcua.common.auth import TokenVerifier
from motcua.common.runtime import Runtime
from motcua.common.web import create_app
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)


def build_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """The catalogue app. The seed is read and checked here, so a bad seed stops the process at once."""
    settings = settings or Settings()
    seed: Seed | None = load_seed(settings.catalogue_seed_dir) if settings.catalogue_seed else None

    def parts(runtime: Runtime) -> Catalogue:
        store = Store(runtime.db)
        return Catalogue(settings, runtime.client, store, runtime.outbox, Listing(store))

    async def on_startup(catalogue: Catalogue) -> None:
        attempt = 0
        while True:
            try:
                await catalogue.store.ensure_counter()
                if seed is not None:
                    await publishing.seed(catalogue, seed, settings.catalogue_seed_batch)
                await catalogue.listing.catch_up()
                return
            except PyMongoError as exc:
                attempt += 1
                log.warning("catalogue_start_retrying", error=str(exc), attempt=attempt)
                await asyncio.sleep(min(0.5 * attempt, 5.0))

    app = create_app(
        settings,
        title="Mot Cua catalogue",
        description="Agencies and administrative procedures: search, versions, forms; managed by admins.",
        routers=[api.router],
        indexes=INDEXES,
        parts=parts,
        on_startup=on_startup,
        verifier=verifier,
    )
    guards.install(app, db_seconds=settings.catalogue_request_db_seconds)
    return app
