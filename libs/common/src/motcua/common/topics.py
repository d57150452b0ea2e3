"""Every Kafka topic of the platform, named once (before `KAFKA_TOPIC_PREFIX`)."""

from __future__ import annotations

IDENTITY_ACCOUNT = "motcua.identity.account.v1"
# Ended sessions, read by every service that verifies access tokens (motcua.common.revocation); no personal data.
IDENTITY_SESSION = "motcua.identity.session.v1"
# The directory of officers (agency and desk roles; no contact details, no secret), read by submission and notification.
IDENTITY_DIRECTORY = "motcua.identity.directory.v1"
# The applicants' profiles (name, citizen ID or tax code, email, phone as verified; no secret), read by submission
# alone, which copies them into the dossiers its officers read.
IDENTITY_PROFILE = "motcua.identity.profile.v1"
CATALOGUE_PROCEDURE = "motcua.catalogue.procedure.v1"
SUBMISSION_APPLICATION = "motcua.submission.application.v1"
NOTIFICATION_DELIVERY = "motcua.notification.delivery.v1"

ALL: tuple[str, ...] = (
    IDENTITY_ACCOUNT,
    IDENTITY_SESSION,
    IDENTITY_DIRECTORY,
    IDENTITY_PROFILE,
    CATALOGUE_PROCEDURE,
    SUBMISSION_APPLICATION,
    NOTIFICATION_DELIVERY,
)

DEAD_LETTER_SUFFIX = ".dlq"

# Each agency's own copy of its dossiers' events (`motcua.submission.agency.<code>.v1`), created by submission's
# relay when a first event for that agency is sent; the agency's Kafka user may read only its topic.
AGENCY_TOPIC_PREFIX = "motcua.submission.agency."
AGENCY_TOPIC_SUFFIX = ".v1"
AGENCY_PARTITIONS = 3


def agency(code: str) -> str:
    """The topic of one agency's dossier events (before `KAFKA_TOPIC_PREFIX`)."""
    return f"{AGENCY_TOPIC_PREFIX}{code}{AGENCY_TOPIC_SUFFIX}"


def is_agency(name: str) -> bool:
    return name.startswith(AGENCY_TOPIC_PREFIX) and name.endswith(AGENCY_TOPIC_SUFFIX)


# Partitions bound a consumer group's useful replicas; the production manifests declare the same numbers.
PARTITIONS: dict[str, int] = {
    IDENTITY_ACCOUNT: 6,
    IDENTITY_SESSION: 3,
    IDENTITY_DIRECTORY: 3,
    IDENTITY_PROFILE: 6,
    CATALOGUE_PROCEDURE: 3,
    SUBMISSION_APPLICATION: 12,
    NOTIFICATION_DELIVERY: 6,
}

_DAY_MS = 24 * 3600 * 1000
# How long the broker keeps records (`retention.ms`), where the code creates topics and in the manifests.
# The identity topic carries live secrets (sealed, motcua.common.sealing): it keeps them no longer than the
# longest of them lives, the 24-hour email-verification link, and so does its dead-letter topic.
SECRETS_LIFETIME_MS = _DAY_MS
RETENTION_MS: dict[str, int] = {
    IDENTITY_ACCOUNT: SECRETS_LIFETIME_MS,
    # a revocation matters for an access token's lifetime (15 minutes); a day leaves room for an outage
    IDENTITY_SESSION: _DAY_MS,
    SUBMISSION_APPLICATION: 30 * _DAY_MS,
    NOTIFICATION_DELIVERY: 7 * _DAY_MS,
}
# Dead-letter topics keep a month for an operator to look into, except those of topics carrying secrets.
DEAD_LETTER_RETENTION_MS = 30 * _DAY_MS
DEAD_LETTER_RETENTION_OVERRIDES: dict[str, int] = {IDENTITY_ACCOUNT: SECRETS_LIFETIME_MS}

# Topics whose records are keyed by an aggregate whose latest record is its whole state.
COMPACTED: frozenset[str] = frozenset({CATALOGUE_PROCEDURE, IDENTITY_DIRECTORY, IDENTITY_PROFILE})


def declared_partitions(name: str, prefix: str = "") -> int:
    """The partition count declared for a topic as named on the broker (prefix and `.dlq` allowed)."""
    base = name.removeprefix(prefix).removesuffix(DEAD_LETTER_SUFFIX)
    return AGENCY_PARTITIONS if is_agency(base) else PARTITIONS.get(base, 3)


def declared_config(name: str, prefix: str = "") -> dict[str, str]:
    """The topic settings to create a topic with, as named on the broker (prefix and `.dlq` allowed)."""
    unprefixed = name.removeprefix(prefix)
    base = unprefixed.removesuffix(DEAD_LETTER_SUFFIX)
    if unprefixed != base:
        retention = DEAD_LETTER_RETENTION_OVERRIDES.get(base, DEAD_LETTER_RETENTION_MS)
        return {"cleanup.policy": "delete", "retention.ms": str(retention)}
    if base in COMPACTED:
        return {"cleanup.policy": "compact"}
    if is_agency(base):  # an agency replays a month, as on the application topic
        return {"cleanup.policy": "delete", "retention.ms": str(RETENTION_MS[SUBMISSION_APPLICATION])}
    if base in RETENTION_MS:
        return {"cleanup.policy": "delete", "retention.ms": str(RETENTION_MS[base])}
    return {}


def prefixed(prefix: str, topic: str) -> str:
    """The topic's name on the broker, after the stack's prefix."""
    return f"{prefix}{topic}"


def dead_letter(topic: str) -> str:
    """The dead-letter topic that receives the records of `topic` no handler could take."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"
