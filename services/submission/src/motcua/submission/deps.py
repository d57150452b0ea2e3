"""What the submission service is made of (`Submission`), and the dependencies that hand its parts to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from motcua.common.outbox import Outbox
from motcua.common.runtime import parts_of
from motcua.submission.rate_limits import RateLimits
from motcua.submission.result_store import ResultStore
from motcua.submission.settings import Settings
from motcua.submission.signing import AgencySigners
from motcua.submission.slip_pdf import Fonts
from motcua.submission.store import Store


@dataclass(frozen=True)
class Submission:
    """The running service's parts, built once in app.py's lifespan."""

    settings: Settings
    store: Store
    outbox: Outbox
    limits: RateLimits
    fonts: Fonts  # the slips' typeface
    signers: AgencySigners  # each agency's key for its result documents
    results: ResultStore  # results and their public verification records


async def _submission(request: Request) -> Submission:
    return parts_of(request, Submission)


SubmissionDep = Annotated[Submission, Depends(_submission)]


async def _store(submission: SubmissionDep) -> Store:
    return submission.store


async def _settings(submission: SubmissionDep) -> Settings:
    return submission.settings


async def _limits(submission: SubmissionDep) -> RateLimits:
    return submission.limits


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LimitsDep = Annotated[RateLimits, Depends(_limits)]
