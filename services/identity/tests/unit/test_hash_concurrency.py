"""argon2 runs at most as many hashes at once as the container has CPUs (its cgroup limit), not the node's cores."""

from __future__ import annotations

from motcua.common.cpu import available_cpus
from motcua.identity.settings import Settings


def test_identity_hashes_at_most_as_many_passwords_at_once_as_it_has_cpus() -> None:
    assert Settings().identity_hash_concurrency == available_cpus()
