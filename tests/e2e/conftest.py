"""The whole platform as `make run` starts it, with a mail server and an SMS endpoint the test reads.

Separate processes for the five services and the local MongoDB- and Kafka-protocol servers (from
`motcua.devtools.devservers.start_platform`), and the real SMTP server and SMS webhook of
`motcua.devtools.testing_messages` (SMS_PROVIDER=webhook), which keep answering from their own
threads while the test waits on a blocking step (a restart).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from motcua.devtools import devservers
from motcua.devtools.testing import log_tails, running_platform
from motcua.devtools.testing_messages import Outbox

ADMIN_EMAIL = "quantri.e2e@motcua.example.vn"  # identity refuses special-use domains such as .local
ADMIN_PASSWORD = "Quản-trị-Kiểm-thử-Đầu-Cuối-2026"


@pytest.fixture(scope="session")
def outbox() -> Iterator[Outbox]:
    """Every email and SMS the platform sent (tests read their own people's: one platform serves them all)."""
    with Outbox() as running:
        yield running


@pytest.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory, outbox: Outbox) -> AsyncIterator[devservers.Platform]:
    """Every service and server as separate processes on free ports, for the test process's e2e modules (each
    works on people of its own, and leaves the platform running: a restart in a test is undone by it); stopped
    by PID afterwards."""
    overrides = {
        **outbox.settings,
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    var = tmp_path_factory.mktemp("e2e") / "var"
    async with running_platform(var, overrides) as running:
        yield running
    print(log_tails(var / "log"))
