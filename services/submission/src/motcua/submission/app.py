"""Build the submission service's app: routes, collections, the outbox relay and the procedure consumer."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response
from motcua.common import consumer as consumer_module
from motcua.common.auth import TokenVerifier
from motcua.common.web import Runtime, create_app, problem
from motcua.submission import agency, api, due_dates, events, orphan_files, store
from motcua.submission.model import MissingPrecondition
from motcua.submission.settings import Settings

DESCRIPTION = """Drafts with autosave, document uploads, submission with tracking codes and due dates,
the agencies' workflow, and the public lookup by tracking code."""


def build_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """The app; nothing connects until it starts."""
    settings = settings or Settings()

    async def on_startup(runtime: Runtime) -> None:
        runtime.extras["store"] = files = store.Store(runtime.client, runtime.db)
        due_dates.warm_up(date.today())
        runtime.spawn(orphan_files.keep_sweeping(
            files, older_than=timedelta(seconds=settings.orphan_file_age_seconds), every=settings.orphan_sweep_seconds,
        ), "orphan-files")

    def consumers(runtime: Runtime) -> list[consumer_module.Consumer]:
        return events.consumers(runtime.client, runtime.db, runtime.settings, runtime.extras["store"])

    app = create_app(
        settings,
        title="Mot Cua — submission",
        description=DESCRIPTION,
        routers=[api.router, agency.router],
        indexes=store.INDEXES,
        consumers=consumers,
        on_startup=on_startup,
        verifier=verifier,
    )

    async def precondition_required(request: Request, exc: Exception) -> Response:
        # motcua.common maps every PreconditionFailed to 412; a missing If-Match is 428 (RFC 6585).
        assert isinstance(exc, MissingPrecondition)
        return problem(428, exc.title, exc.detail, request=request)

    app.add_exception_handler(MissingPrecondition, precondition_required)
    return app
