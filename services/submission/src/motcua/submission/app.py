"""Build the submission service's app: routes, collections, the outbox relay and the procedure consumer."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from motcua.common.auth import TokenVerifier
from motcua.common.body_limit import LargerBody
from motcua.common.clock import Clock, now
from motcua.common.runtime import Background, Runtime
from motcua.common.web import create_app
from motcua.submission import (
    accountability,
    agency,
    api,
    applicant_store,
    deadlines,
    desk,
    due_dates,
    events,
    index_feed,
    orphan_files,
    payment_flow,
    payment_routes,
    payment_store,
    ratings,
    result_routes,
    signing,
    slip_routes,
    verify_routes,
    wallet,
)
from motcua.submission.deps import Submission
from motcua.submission.rate_limits import RateLimits
from motcua.submission.result_store import RESULT_INDEXES, ResultStore
from motcua.submission.settings import Settings
from motcua.submission.store import INDEXES, Store

MIB = 1024 * 1024
DESCRIPTION = """Drafts with autosave, document uploads, submission with tracking codes and due dates,
the agencies' workflow, and the public lookup by tracking code."""


def build_app(
    settings: Settings | None = None, *, verifier: TokenVerifier | None = None, window_clock: Clock = now
) -> FastAPI:
    """The app; nothing connects until it starts. `window_clock` places requests in rate-limit windows."""
    settings = settings or Settings()

    def parts(runtime: Runtime) -> Submission:
        store = Store(runtime.client, runtime.db)
        limits = RateLimits(store.rate_limits, settings, clock=window_clock)
        fonts = settings.slip_fonts()
        signers = signing.from_settings(
            settings.result_signing_pkcs12_files,
            settings.result_signing_pkcs12_passphrase.get_secret_value(),
            settings.result_signing_dev_ca_dir,
        )
        return Submission(
            settings=settings,
            store=store,
            outbox=runtime.outbox,
            limits=limits,
            fonts=fonts,
            signers=signers,
            results=ResultStore(runtime.db),
        )

    async def on_startup(submission: Submission) -> None:
        submission.fonts.check()
        due_dates.warm_up(date.today())

    def background(submission: Submission) -> Background:
        older_than = timedelta(seconds=settings.orphan_file_age_seconds)
        every = settings.orphan_sweep_seconds
        return {
            "orphan-files": orphan_files.keep_sweeping(submission.store, older_than=older_than, every=every),
            "escalation": deadlines.keep_checking(submission, every=settings.escalation_check_seconds),
            "payment-query": payment_flow.keep_settling(
                submission, every=settings.payment_query_every_seconds, after=settings.payment_query_after_seconds
            ),
        }

    return create_app(
        settings,
        title="Mot Cua — submission",
        description=DESCRIPTION,
        routers=[
            api.router,
            agency.router,
            desk.router,
            slip_routes.router,
            accountability.router,
            result_routes.router,
            verify_routes.router,
            wallet.router,
            payment_routes.router,
        ],
        indexes={
            **INDEXES,
            **index_feed.INDEXES,
            **ratings.INDEXES,
            **RESULT_INDEXES,
            **payment_store.INDEXES,
            **applicant_store.INDEXES,
        },
        parts=parts,
        on_startup=on_startup,
        background=background,
        consumers=lambda s: [*events.consumers(s), *index_feed.consumers(s)],
        verifier=verifier,
        # documents, and the autosave's merge patch (its own limit: twice the form's, as JSON)
        larger_bodies=[
            LargerBody(
                "POST", "/v1/applications/{application_id}/documents", int(settings.upload_max_request_mb * MIB)
            ),
            LargerBody("PATCH", "/v1/applications/{application_id}", settings.max_form_bytes * 2),
            # a result uploaded with issue_result, and a document checked against its verification
            LargerBody(
                "POST", "/v1/agency/applications/{application_id}/actions", int(settings.result_max_mb * MIB) + 65536
            ),
            LargerBody("POST", "/v1/verify/{code}", int(settings.result_max_mb * MIB) + 65536),
        ],
    )
