"""MongoDB access for identity: accounts, sessions (refresh tokens), two-factor challenges, counters, keys.

Secrets are stored only as digests (see `codes`), except TOTP secrets, which are sealed (`sealing`).
Counters live here, not in process memory, so every replica sees the same lockouts and limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from motcua.common import counters, mongo
from motcua.identity import sealing
from motcua.identity.limits import Lockout
from motcua.identity.model import AGENCY_ROLES, CITIZEN_TYPES, Account
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

ACCOUNTS = "accounts"
SESSIONS = "refresh_tokens"
CHALLENGES = "mfa_challenges"
THROTTLES = "throttles"
COUNTERS = "rate_limits"
KEYS = "signing_keys"
PASSES = "upgrade_passes"  # one-off background passes over the accounts, recorded once complete

# Where an account keeps a TOTP secret: while enrolling, and once two-factor is on.
TOTP_SECRETS = ("mfa_enrolment.secret", "mfa.secret")

_STRING = {"$type": "string"}
# Indexes of earlier versions, dropped at start (their rules changed; see INDEXES).
RETIRED_INDEXES = {ACCOUNTS: ("national_id_unique",)}

INDEXES: dict[str, list[IndexModel]] = {
    ACCOUNTS: [
        IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
        IndexModel(
            [("phone", ASCENDING)], unique=True, name="phone_unique", partialFilterExpression={"phone": _STRING}
        ),
        # one active account per citizen; registrations never verified do not hold the citizen ID. The key
        # includes `status` (always "active" here) so that it never clashes with the retired index below
        # while both exist during an upgrade.
        IndexModel(
            [("national_id", ASCENDING), ("status", ASCENDING)],
            unique=True,
            name="national_id_unique_active",
            partialFilterExpression={"national_id": _STRING, "status": "active"},
        ),
        IndexModel([("pending_expires_at", ASCENDING)], name="pending_expiry", expireAfterSeconds=0),
        IndexModel([("email_check.digest", ASCENDING)], name="email_link", sparse=True),
        IndexModel([("reset.digest", ASCENDING)], name="reset_link", sparse=True),
        IndexModel([("account_type", ASCENDING)], name="by_type"),
        IndexModel(
            [("account_type", ASCENDING), ("agency_code", ASCENDING), ("full_name", ASCENDING)], name="officers"
        ),
    ],
    SESSIONS: [
        IndexModel([("family_id", ASCENDING)], name="by_family"),
        IndexModel([("account_id", ASCENDING)], name="by_account"),
        IndexModel([("purge_at", ASCENDING)], name="purge", expireAfterSeconds=0),
    ],
    CHALLENGES: [
        IndexModel([("account_id", ASCENDING)], name="by_account"),
        IndexModel([("expires_at", ASCENDING)], name="purge", expireAfterSeconds=0),
    ],
    THROTTLES: [
        IndexModel([("purge_at", ASCENDING)], name="purge", expireAfterSeconds=0),
        IndexModel([("subject", ASCENDING)], name="by_subject", sparse=True),
    ],
    COUNTERS: [IndexModel([("purge_at", ASCENDING)], name="purge", expireAfterSeconds=0)],
    KEYS: [IndexModel([("last_used_at", ASCENDING)], name="by_use")],
}


def account_of(doc: mongo.Document) -> Account:
    """The domain's view of a stored account (no secrets)."""
    return Account(
        id=doc["_id"],
        account_type=doc["account_type"],
        status=doc["status"],
        full_name=doc["full_name"],
        email=doc["email"],
        phone=doc.get("phone"),
        locale=doc.get("locale", "vi"),
        created_at=doc["created_at"],
        national_id=doc.get("national_id"),
        tax_code=doc.get("tax_code"),
        organisation_name=doc.get("organisation_name"),
        agency_code=doc.get("agency_code"),
        # an officer created before roles existed kept every power: all three
        agency_roles=tuple(doc.get("agency_roles", AGENCY_ROLES if doc["account_type"] == "officer" else ())),
        email_verified_at=doc.get("email_verified_at"),
        phone_verified_at=doc.get("phone_verified_at"),
        mfa_enabled=bool((doc.get("mfa") or {}).get("enabled_at")) or int(doc.get("passkey_count", 0)) > 0,
        totp_enabled=bool((doc.get("mfa") or {}).get("enabled_at")),
        passkeys=int(doc.get("passkey_count", 0)),
    )


def duplicated_field(exc: DuplicateKeyError) -> str | None:
    """Which unique field a failed insert collided on."""
    pattern = (exc.details or {}).get("keyPattern") or {}
    for name in ("email", "phone", "national_id"):
        if name in pattern or f"{name}_unique" in str(exc):
            return name
    return None


def _lockout_of(doc: mongo.Document) -> Lockout:
    # a slot is {"at", "n"}; a plain time is a failure stored by an earlier version
    failures = tuple(f["at"] if isinstance(f, dict) else f for f in doc.get("failures", ()))
    return Lockout(failures=failures, locked_until=doc.get("locked_until"))


class Store:
    """This service's collections and the queries its use cases make."""

    def __init__(self, db: mongo.Database) -> None:
        self.accounts = db[ACCOUNTS]
        self.sessions = db[SESSIONS]
        self.challenges = db[CHALLENGES]
        self.throttles = db[THROTTLES]
        self.counters = db[COUNTERS]
        self.keys = db[KEYS]
        self.passes = db[PASSES]

    # --- accounts ---------------------------------------------------------------------------

    async def account(self, account_id: str, session: mongo.Session | None = None) -> mongo.Document | None:
        return await self.accounts.find_one({"_id": account_id}, session=session)

    async def set_agency_roles(
        self, account_id: str, roles: list[str], session: mongo.Session
    ) -> mongo.Document | None:
        return await self.accounts.find_one_and_update(
            {"_id": account_id, "account_type": "officer"},
            {"$set": {"agency_roles": roles}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def set_officer_status(
        self, account_id: str, status: str, at: datetime, session: mongo.Session
    ) -> tuple[str | None, mongo.Document | None]:
        """The officer's status before, and the account after, setting it (only between active and disabled)."""
        before = await self.accounts.find_one_and_update(
            {"_id": account_id, "account_type": "officer", "status": {"$in": ["active", "disabled"]}},
            {"$set": {"status": status, "updated_at": at}},
            session=session,
        )
        if before is None:
            return None, None
        return before["status"], {**before, "status": status, "updated_at": at}

    async def officers(self, agency_code: str | None, *, skip: int, limit: int) -> tuple[list[mongo.Document], int]:
        query: dict[str, Any] = {"account_type": "officer"}
        if agency_code is not None:
            query["agency_code"] = agency_code
        docs = await self.accounts.find(query).sort("full_name", 1).skip(skip).limit(limit).to_list()
        return docs, await self.accounts.count_documents(query)

    async def account_by_username(self, *, email: str | None, phone: str | None) -> mongo.Document | None:
        if email is not None:
            return await self.accounts.find_one({"email": email})
        if phone is not None:
            return await self.accounts.find_one({"phone": phone})
        return None

    async def account_by(self, field: str, digest: str) -> mongo.Document | None:
        """The account holding this link digest (`email_check.digest` or `reset.digest`)."""
        return await self.accounts.find_one({field: digest})

    async def holders(
        self, *, email: str, phone: str | None, national_id: str | None
    ) -> list[tuple[mongo.Document, list[str]]]:
        """The accounts already holding these unique details (a citizen ID only counts on an active account),
        each with the details it holds."""
        wanted: list[dict[str, Any]] = [{"email": email}]
        if phone:
            wanted.append({"phone": phone})
        if national_id:
            wanted.append({"national_id": national_id, "status": "active"})
        found: list[tuple[mongo.Document, list[str]]] = []
        async for doc in self.accounts.find({"$or": wanted}):
            held = [name for name, value in (("email", email), ("phone", phone)) if value and doc.get(name) == value]
            if national_id and doc.get("national_id") == national_id and doc["status"] == "active":
                held.append("national_id")
            found.append((doc, held))
        return found

    async def drop_retired_indexes(self) -> None:
        for collection, names in RETIRED_INDEXES.items():
            existing = {index["name"] async for index in await self.accounts.database[collection].list_indexes()}
            for name in set(names) & existing:
                await self.accounts.database[collection].drop_index(name)

    async def admin_exists(self) -> bool:
        return await self.accounts.count_documents({"account_type": "admin"}, limit=1) > 0

    async def insert_account(self, doc: mongo.Document, session: mongo.Session | None = None) -> None:
        """A new account; DuplicateKeyError when its email, phone or citizen ID is taken meanwhile."""
        await self.accounts.insert_one(doc, session=session)

    async def account_holding(
        self, account_id: str, still: dict[str, Any], session: mongo.Session
    ) -> mongo.Document | None:
        """The account, if its fields still hold the values of `still` (a code not replaced meanwhile)."""
        return await self.accounts.find_one({"_id": account_id, **still}, session=session)

    async def record_proof(
        self, account_id: str, changes: dict[str, Any], *, phone: bool, activating: bool, session: mongo.Session
    ) -> None:
        """A proof of the email or the phone done; the phone code's check is not kept after use, and an account
        turning active no longer expires. DuplicateKeyError when an active account holds its citizen ID."""
        update: dict[str, Any] = {"$set": changes}
        unset = {"phone_check.mac": "", "phone_check.salt": ""} if phone else {}
        if activating:
            unset["pending_expires_at"] = ""
        if unset:
            update["$unset"] = unset
        await self.accounts.update_one({"_id": account_id}, update, session=session)

    async def save_check(
        self, account_id: str, field: str, check: dict[str, Any], now: datetime, session: mongo.Session
    ) -> None:
        """A new verification link or code (`email_check` or `phone_check`), replacing the last."""
        changes = {field: check, "updated_at": now}
        await self.accounts.update_one({"_id": account_id}, {"$set": changes}, session=session)

    async def account_by_email(self, email: str, session: mongo.Session) -> mongo.Document | None:
        return await self.accounts.find_one({"email": email}, session=session)

    async def save_reset(self, account_id: str, reset: dict[str, Any], session: mongo.Session) -> None:
        await self.accounts.update_one({"_id": account_id}, {"$set": {"reset": reset}}, session=session)

    async def reset_password(
        self, account_id: str, digest: str, password_hash: str, now: datetime, session: mongo.Session
    ) -> bool:
        """The new password, if the reset link of `digest` is still unused; the link stops working."""
        changed = await self.accounts.update_one(
            {"_id": account_id, "reset.digest": digest},
            {
                "$set": {"password_hash": password_hash, "password_changed_at": now, "updated_at": now},
                "$unset": {"reset.digest": "", "reset.expires_at": ""},
            },
            session=session,
        )
        return changed.modified_count == 1

    async def change_password(
        self, account_id: str, old_hash: str, new_hash: str, now: datetime, session: mongo.Session
    ) -> bool:
        """The new password, unless the password changed meanwhile (another change or a reset won)."""
        changed = await self.accounts.update_one(
            {"_id": account_id, "password_hash": old_hash},
            {"$set": {"password_hash": new_hash, "password_changed_at": now, "updated_at": now}},
            session=session,
        )
        return changed.modified_count == 1

    async def rehash_password(self, account_id: str, old_hash: str, new_hash: str) -> None:
        """A stronger hash of the same password, unless the password changed meanwhile."""
        await self.accounts.update_one(
            {"_id": account_id, "password_hash": old_hash}, {"$set": {"password_hash": new_hash}}
        )

    # --- two-factor ---------------------------------------------------------------------------

    async def start_enrolment(self, account_id: str, enrolment: dict[str, Any]) -> None:
        await self.accounts.update_one({"_id": account_id}, {"$set": {"mfa_enrolment": enrolment}})

    async def drop_enrolment(self, account_id: str) -> None:
        await self.accounts.update_one({"_id": account_id}, {"$unset": {"mfa_enrolment": ""}})

    async def enable_mfa(
        self,
        account_id: str,
        where: str,
        value: object,
        mfa: dict[str, Any],
        now: datetime,
        session: mongo.Session | None = None,
    ) -> bool:
        """Two-factor on, if the enrolment (its secret at `where`) is the one confirmed; it ends."""
        result = await self.accounts.update_one(
            {"_id": account_id, where: value},
            {"$set": {"mfa": mfa, "updated_at": now}, "$unset": {"mfa_enrolment": ""}},
            session=session,
        )
        return result.modified_count == 1

    async def use_step(self, account_id: str, step: int) -> bool:
        """Use an authenticator code of time step `step`, once: no code of it or of an earlier step again."""
        used = await self.accounts.update_one(
            {"_id": account_id, "mfa.last_step": {"$lt": step}}, {"$set": {"mfa.last_step": step}}
        )
        return used.modified_count == 1

    async def use_recovery_code(self, account_id: str, digest: str) -> bool:
        """Use a recovery code once."""
        used = await self.accounts.update_one(
            {"_id": account_id, "mfa.recovery": digest}, {"$pull": {"mfa.recovery": digest}}
        )
        return used.modified_count == 1

    async def count_attempt(self, account_id: str, field: str, mac_field: str, mac: object, limit: int) -> int | None:
        """Count one guess at a stored code (while `mac_field` still holds `mac`); the guesses so far, or None."""
        doc = await self.accounts.find_one_and_update(
            {"_id": account_id, mac_field: mac, f"{field}.attempts": {"$lt": limit}},
            {"$inc": {f"{field}.attempts": 1}},
            projection={field: 1},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else int(doc[field]["attempts"])

    # --- TOTP secrets (sealed; see `sealing`) ----------------------------------------------------

    async def unpublished_profiles(self, after: str, limit: int) -> list[mongo.Document]:
        """Active applicants (by id, after `after`) whose profile was never published."""
        query = {
            "_id": {"$gt": after},
            "status": "active",
            "account_type": {"$in": sorted(CITIZEN_TYPES)},
            "profile_published_at": {"$exists": False},
        }
        return await self.accounts.find(query).sort("_id", ASCENDING).limit(limit).to_list()

    async def mark_profiles_published(self, ids: list[str], at: datetime, session: mongo.Session) -> None:
        await self.accounts.update_many({"_id": {"$in": ids}}, {"$set": {"profile_published_at": at}}, session=session)

    async def pass_done(self, name: str) -> bool:
        """Whether a one-off background pass over the accounts (an upgrade's) has completed."""
        return await self.passes.find_one({"_id": name}) is not None

    async def mark_pass_done(self, name: str, at: datetime) -> None:
        await self.passes.update_one({"_id": name}, {"$setOnInsert": {"done_at": at}}, upsert=True)

    async def secrets_to_seal(self, current_kid: str, after: str, limit: int) -> list[mongo.Document]:
        """Accounts (by id, after `after`) holding a TOTP secret in plain or sealed with another key."""
        stale: list[dict[str, Any]] = []
        for path in TOTP_SECRETS:
            stale += [{path: _STRING}, {f"{path}.kid": {"$exists": True, "$ne": current_kid}}]
        cursor = self.accounts.find({"_id": {"$gt": after}, "$or": stale}, {path: 1 for path in TOTP_SECRETS})
        return await cursor.sort("_id", ASCENDING).limit(limit).to_list()

    async def reseal(self, account_id: str, path: str, stored: object, sealed: dict[str, Any]) -> bool:
        """Replace a stored TOTP secret with its sealed form, unless it changed meanwhile."""
        where, value = sealing.holding(path, stored)
        result = await self.accounts.update_one({"_id": account_id, where: value}, {"$set": {path: sealed}})
        return result.modified_count == 1

    # --- sessions: refresh tokens, one family per sign-in --------------------------------------

    async def add_refresh(self, doc: mongo.Document) -> None:
        await self.sessions.insert_one(doc)

    async def refresh(self, digest: str) -> mongo.Document | None:
        return await self.sessions.find_one({"_id": digest})

    async def rotate(self, digest: str, now: datetime) -> bool:
        """Mark a refresh token used; False when it was already used or revoked (a replay)."""
        result = await self.sessions.update_one(
            {"_id": digest, "rotated_at": None, "revoked_at": None}, {"$set": {"rotated_at": now}}
        )
        return result.modified_count == 1

    async def revoke_family(self, family_id: str, now: datetime, session: mongo.Session | None = None) -> None:
        await self.sessions.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}, session=session
        )

    async def families_issuing_since(
        self, account_id: str, since: datetime, session: mongo.Session | None = None
    ) -> list[str]:
        """The sessions of an account that issued a token since `since`: those whose access tokens may live."""
        found = await self.sessions.distinct(
            "family_id", {"account_id": account_id, "created_at": {"$gte": since}}, session=session
        )
        return sorted(str(f) for f in found)

    async def revoke_all(self, account_id: str, now: datetime, session: mongo.Session | None = None) -> None:
        await self.sessions.update_many(
            {"account_id": account_id, "revoked_at": None}, {"$set": {"revoked_at": now}}, session=session
        )
        await self.challenges.delete_many({"account_id": account_id}, session=session)

    # --- two-factor challenges between the password and the code -------------------------------

    async def add_challenge(self, doc: mongo.Document) -> None:
        await self.challenges.insert_one(doc)

    async def use_challenge_attempt(self, digest: str, now: datetime, limit: int) -> mongo.Document | None:
        """Count a guess against a live challenge; None when it is unknown, expired or spent."""
        return await self.challenges.find_one_and_update(
            {"_id": digest, "expires_at": {"$gt": now}, "attempts": {"$lt": limit}},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def end_challenge(self, digest: str) -> bool:
        return (await self.challenges.delete_one({"_id": digest})).deleted_count == 1

    # --- lockouts and counters -------------------------------------------------------------------

    async def lockouts(self, keys: list[str], session: mongo.Session | None = None) -> dict[str, Lockout]:
        found = {key: Lockout() for key in keys}
        async for doc in self.throttles.find({"_id": {"$in": keys}}, session=session):
            found[doc["_id"]] = _lockout_of(doc)
        return found

    async def reserve_attempt(
        self, key: str, entry: str, *, now: datetime, limit: int, purge_at: datetime, subject: str | None
    ) -> Lockout | None:
        """Take one of the `limit` slots of `key` for an attempt about to be checked, atomically: None when
        the key is locked or every slot is taken, else the key's state with this attempt counted. Slots
        older than the window are only dropped by `prune_attempts`."""
        free_slot = {"_id": key, f"failures.{limit - 1}": {"$exists": False}, "locked_until": {"$not": {"$gt": now}}}
        update: dict[str, Any] = {"$push": {"failures": {"at": now, "n": entry}}, "$max": {"purge_at": purge_at}}
        if subject is not None:
            update["$set"] = {"subject": subject}
        try:
            doc = await self.throttles.find_one_and_update(
                free_slot, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # the key exists and is full or locked (or a racing first attempt made it)
            return None
        return None if doc is None else _lockout_of(doc)

    async def prune_attempts(self, key: str, before: datetime) -> bool:
        """Drop the key's attempts older than `before`; whether any were."""
        pruned = await self.throttles.update_one({"_id": key}, {"$pull": {"failures": {"at": {"$lte": before}}}})
        return pruned.modified_count == 1

    async def release_attempt(self, keys: list[str], entry: str) -> None:
        """Give back the slots an attempt took on these keys (it succeeded, or was refused elsewhere)."""
        if keys:
            await self.throttles.update_many({"_id": {"$in": keys}}, {"$pull": {"failures": {"n": entry}}})

    async def lock(self, key: str, until: datetime, session: mongo.Session | None = None) -> None:
        """Lock the key until `until`; its count starts again afterwards."""
        locked = {"$set": {"locked_until": until, "failures": []}, "$max": {"purge_at": until}}
        await self.throttles.update_one({"_id": key}, locked, session=session)

    async def forget_lockouts(self, keys: list[str], session: mongo.Session | None = None) -> None:
        await self.throttles.delete_many({"_id": {"$in": keys}}, session=session)

    async def forget_lockouts_of(self, subject: str, session: mongo.Session | None = None) -> None:
        """Every key counted for this account (from any address)."""
        await self.throttles.delete_many({"subject": subject}, session=session)

    async def hit(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Count one event in the fixed window containing `now`: the count so far and the window's end."""
        count, counted_in = await counters.count(
            self.counters, key, now=now, seconds=window.total_seconds(), expiry_field="purge_at"
        )
        return count, counted_in.ends

    # --- signing keys ----------------------------------------------------------------------------

    async def record_key(self, jwk: dict[str, Any], now: datetime) -> None:
        await self.keys.update_one(
            {"_id": jwk["kid"]},
            {"$set": {"jwk": jwk, "last_used_at": now}, "$setOnInsert": {"first_used_at": now}},
            upsert=True,
        )

    async def keys_used_since(self, since: datetime) -> list[dict[str, Any]]:
        cursor = self.keys.find({"last_used_at": {"$gte": since}}).sort("first_used_at", ASCENDING)
        return [doc["jwk"] async for doc in cursor]
