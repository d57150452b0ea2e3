"""Every Kafka topic of the platform, named once (before `KAFKA_TOPIC_PREFIX`)."""

from __future__ import annotations

IDENTITY_ACCOUNT = "motcua.identity.account.v1"
CATALOGUE_PROCEDURE = "motcua.catalogue.procedure.v1"
SUBMISSION_APPLICATION = "motcua.submission.application.v1"
NOTIFICATION_DELIVERY = "motcua.notification.delivery.v1"

ALL: tuple[str, ...] = (IDENTITY_ACCOUNT, CATALOGUE_PROCEDURE, SUBMISSION_APPLICATION, NOTIFICATION_DELIVERY)

DEAD_LETTER_SUFFIX = ".dlq"

# Partitions bound a consumer group's useful replicas; the production manifests declare the same numbers.
PARTITIONS: dict[str, int] = {
    IDENTITY_ACCOUNT: 6,
    CATALOGUE_PROCEDURE: 3,
    SUBMISSION_APPLICATION: 12,
    NOTIFICATION_DELIVERY: 6,
}

# Topics whose records are keyed by an aggregate whose latest record is its whole state.
COMPACTED: frozenset[str] = frozenset({CATALOGUE_PROCEDURE})


def declared_partitions(name: str, prefix: str = "") -> int:
    """The partition count declared for a topic as named on the broker (prefix and `.dlq` allowed)."""
    base = name.removeprefix(prefix).removesuffix(DEAD_LETTER_SUFFIX)
    return PARTITIONS.get(base, 3)


def prefixed(prefix: str, topic: str) -> str:
    """The topic's name on the broker, after the stack's prefix."""
    return f"{prefix}{topic}"


def dead_letter(topic: str) -> str:
    """The dead-letter topic that receives the records of `topic` no handler could take."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"
