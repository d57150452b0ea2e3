"""The `applicant_profiles` collection: the latest profile of each applicant account, from identity's
AccountProfileChanged (a read model: identity's database is never read)."""

from __future__ import annotations

from motcua.common import mongo
from motcua.submission.applicants import Applicant
from pymongo import IndexModel

APPLICANT_PROFILES = "applicant_profiles"
INDEXES: dict[str, list[IndexModel]] = {APPLICANT_PROFILES: []}  # read by `_id` (the account id) alone


class ApplicantProfiles:
    def __init__(self, db: mongo.Database) -> None:
        self.profiles = db[APPLICANT_PROFILES]

    async def save(self, session: mongo.Session, profile: Applicant) -> bool:
        """Keep the latest profile of an account (latest `changed_at` wins: a replayed older record changes
        nothing); whether it was kept."""
        current = await self.profiles.find_one({"_id": profile.account_id}, {"profile_changed_at": 1}, session=session)
        if current is not None and current["profile_changed_at"] > profile.profile_changed_at:
            return False
        doc = profile.model_dump(exclude={"account_id"})
        await self.profiles.replace_one({"_id": profile.account_id}, doc, upsert=True, session=session)
        return True

    async def get(self, account_id: str, *, session: mongo.Session | None = None) -> Applicant | None:
        doc = await self.profiles.find_one({"_id": account_id}, session=session)
        return Applicant.model_validate({**doc, "account_id": doc["_id"]}) if doc else None
