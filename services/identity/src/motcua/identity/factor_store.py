"""MongoDB access for second factors beyond TOTP: passkeys, their ceremonies' challenges, and the account
fields that change when a factor goes or recovery codes are replaced.

A passkey's public key is not secret; its credential id is unique across accounts. Each ceremony's challenge
is kept here (by a random ceremony id) until it is used once or expires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motcua.common import mongo
from motcua.identity.store import ACCOUNTS, CHALLENGES
from pymongo import ASCENDING, IndexModel

PASSKEYS = "passkeys"
CEREMONIES = "webauthn_ceremonies"

INDEXES: dict[str, list[IndexModel]] = {
    PASSKEYS: [
        IndexModel([("credential_id", ASCENDING)], unique=True, name="credential_unique"),
        IndexModel([("account_id", ASCENDING)], name="by_account"),
    ],
    CEREMONIES: [IndexModel([("expires_at", ASCENDING)], name="purge", expireAfterSeconds=0)],
}


class FactorStore:
    """Passkeys, ceremonies, and removing factors from accounts."""

    def __init__(self, db: mongo.Database) -> None:
        self.accounts = db[ACCOUNTS]
        self.passkeys = db[PASSKEYS]
        self.ceremonies = db[CEREMONIES]
        self.challenges = db[CHALLENGES]

    # --- ceremonies: one challenge, used once ----------------------------------------------------

    async def add_ceremony(self, doc: mongo.Document) -> None:
        await self.ceremonies.insert_one(doc)

    async def take_ceremony(self, ceremony_id: str, kind: str, now: datetime) -> mongo.Document | None:
        """The live ceremony of this id and kind, deleted as it is read: a challenge answers once."""
        return await self.ceremonies.find_one_and_delete({"_id": ceremony_id, "kind": kind, "expires_at": {"$gt": now}})

    async def live_challenge(self, digest: str, now: datetime) -> mongo.Document | None:
        """The password step's two-factor challenge, while it lasts (its guesses are counted elsewhere)."""
        return await self.challenges.find_one({"_id": digest, "expires_at": {"$gt": now}})

    # --- passkeys ----------------------------------------------------------------------------------

    async def passkeys_of(self, account_id: str) -> list[mongo.Document]:
        cursor = self.passkeys.find({"account_id": account_id}).sort("created_at", ASCENDING)
        return await cursor.to_list()

    async def passkey_by_credential(self, credential_id: str) -> mongo.Document | None:
        return await self.passkeys.find_one({"credential_id": credential_id})

    async def add_passkey(
        self, doc: mongo.Document, recovery: list[str] | None, now: datetime, session: mongo.Session
    ) -> None:
        """The passkey and the account's count of them (first recovery codes too, when it had none)."""
        await self.passkeys.insert_one(doc, session=session)
        changes: dict[str, Any] = {"updated_at": now}
        if recovery is not None:
            changes["mfa.recovery"] = recovery
        await self.accounts.update_one(
            {"_id": doc["account_id"]}, {"$inc": {"passkey_count": 1}, "$set": changes}, session=session
        )

    async def use_passkey(self, passkey_id: str, old_count: int, new_count: int, now: datetime) -> bool:
        """Record a sign-in's counter, if no other sign-in with the same counter came first (a cloned key)."""
        used = await self.passkeys.update_one(
            {"_id": passkey_id, "sign_count": old_count},
            {"$set": {"sign_count": new_count, "last_used_at": now}},
        )
        return used.modified_count == 1

    async def remove_passkey(self, account_id: str, passkey_id: str, now: datetime, session: mongo.Session) -> bool:
        gone = await self.passkeys.delete_one({"_id": passkey_id, "account_id": account_id}, session=session)
        if gone.deleted_count != 1:
            return False
        await self.accounts.update_one(
            {"_id": account_id}, {"$inc": {"passkey_count": -1}, "$set": {"updated_at": now}}, session=session
        )
        return True

    # --- the account's other factors --------------------------------------------------------------

    async def remove_totp(self, account_id: str, *, keep_recovery: bool, now: datetime, session: mongo.Session) -> bool:
        """The authenticator app off; recovery codes stay only when passkeys remain."""
        unset = ["mfa.secret", "mfa.enabled_at", "mfa.last_step"] if keep_recovery else ["mfa"]
        removed = await self.accounts.update_one(
            {"_id": account_id, "mfa.enabled_at": {"$ne": None}},
            {"$unset": dict.fromkeys(unset, ""), "$set": {"updated_at": now}},
            session=session,
        )
        return removed.modified_count == 1

    async def drop_recovery(self, account_id: str, now: datetime, session: mongo.Session) -> None:
        """No factor left: the recovery codes go with the last one."""
        await self.accounts.update_one(
            {"_id": account_id, "passkey_count": {"$lte": 0}, "mfa.enabled_at": None},
            {"$unset": {"mfa": ""}, "$set": {"updated_at": now}},
            session=session,
        )

    async def replace_recovery(
        self, account_id: str, recovery: list[str], now: datetime, session: mongo.Session | None = None
    ) -> None:
        changes = {"$set": {"mfa.recovery": recovery, "updated_at": now}}
        await self.accounts.update_one({"_id": account_id}, changes, session=session)
