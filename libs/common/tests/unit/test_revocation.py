"""The deny list: a revoked session's access tokens are refused until the last of them has expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from motcua.common.contracts.identity import SessionsRevoked
from motcua.common.revocation import DenyList

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def revoked(*sessions: str, until: datetime) -> SessionsRevoked:
    return SessionsRevoked(
        account_id="acc-1", session_ids=list(sessions), reason="logout", revoked_at=NOW, valid_until=until
    )


def test_a_revoked_session_is_refused_until_its_tokens_have_expired_and_then_forgotten() -> None:
    deny = DenyList()
    deny.add(revoked("s1", "s2", until=NOW + timedelta(minutes=15)))
    assert deny.refuses("s1", NOW)
    assert deny.refuses("s2", NOW + timedelta(minutes=14))
    assert not deny.refuses("s3", NOW)
    assert not deny.refuses(None, NOW)  # a token without a session claim is not ours to refuse
    assert not deny.refuses("s1", NOW + timedelta(minutes=16))
    deny.prune(NOW + timedelta(minutes=16))
    assert len(deny) == 0


def test_a_later_revocation_of_the_same_session_keeps_the_later_deadline() -> None:
    deny = DenyList()
    deny.add(revoked("s1", until=NOW + timedelta(minutes=15)))
    deny.add(revoked("s1", until=NOW + timedelta(minutes=5)))
    assert deny.refuses("s1", NOW + timedelta(minutes=10))
