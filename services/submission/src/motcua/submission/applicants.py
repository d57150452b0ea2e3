"""Who filed a dossier: the applicant's details as identity verified them, copied into the dossier at submission.

Identity publishes each applicant account's profile (AccountProfileChanged, no secret) on its profile topic;
submission keeps the latest of each (`applicant_profiles`) and, at submit, snapshots it into the dossier as
`applicant`. A snapshot: a later change of the account does not rewrite a filed tờ khai, and a resubmission after
a supplement keeps it (the dossier is the same filing). Only the officers of the dossier's agency read it. No I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from motcua.common.errors import Unavailable
from motcua.common.folding import fold
from pydantic import BaseModel, Field

ApplicantType = Literal["individual", "business", "organisation"]
NAME_SEARCH_MAX = 100


class ApplicantNotYetKnown(Unavailable):
    """The account's profile has not reached submission yet (a submit just after activation): try again shortly
    (503 with Retry-After, which the portal's waiting room honours)."""

    title = "Applicant details not yet available"


class Applicant(BaseModel):
    """The applicant section of the dossier (the tờ khai's người nộp hồ sơ), as it stood at submission."""

    account_id: str
    account_type: ApplicantType
    full_name: str
    national_id: str | None = Field(default=None, description="the 12-digit citizen ID (individuals)")
    tax_code: str | None = Field(default=None, description="businesses (10 or 13 digits)")
    organisation_name: str | None = Field(default=None, description="businesses and organisations")
    email: str
    phone: str = Field(description="E.164 (+84…)")
    profile_changed_at: datetime = Field(description="when identity last changed the profile this copies")
    name_key: str = Field(description="the name folded (lower case, no diacritics) for the desk's search")


def name_key(full_name: str) -> str:
    """What the desk's search by name compares: "Nguyễn Thị Ánh" -> "nguyen thi anh"."""
    return fold(full_name)


def name_search_prefix(typed: str) -> str | None:
    """What an officer typed to find an applicant by name, folded as the stored keys are; None when nothing
    searchable is left (only punctuation, say)."""
    key = fold(typed[:NAME_SEARCH_MAX])
    return key or None


def snapshot(profile: Applicant | None) -> Applicant:
    """The applicant to file the dossier under; ApplicantNotYetKnown while the profile has not arrived."""
    if profile is None:
        raise ApplicantNotYetKnown(
            "Your account's details are still on their way to the dossier service; try again in a few seconds."
        )
    return profile
