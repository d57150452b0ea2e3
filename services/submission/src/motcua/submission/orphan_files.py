"""Uploaded files that never became part of an application (the process stopped between storing the
file and attaching it) are found and deleted, so storage holds only what some dossier refers to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from motcua.submission.store import Store
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)


async def sweep(store: Store, *, older_than: timedelta, batch: int = 200) -> int:
    """Delete unattached files uploaded before `older_than` ago; a file its application does refer to
    (the process stopped before marking it) is marked instead. Returns how many were deleted."""
    deleted = 0
    for record in await store.unattached_files(datetime.now(UTC) - older_than, batch):
        file_id = record["_id"]
        owner_app = await store.get(str(record.get("metadata", {}).get("application_id", "")))
        if owner_app is not None and any(d.id == file_id for d in owner_app.documents.values()):
            await store.mark_attached(file_id)
            continue
        await store.delete_file(file_id)
        deleted += 1
        log.info("orphan_file_deleted", file_id=file_id)
    return deleted


async def keep_sweeping(store: Store, *, older_than: timedelta, every: float) -> None:
    """Sweep now and then for the life of the service; database trouble waits for the next round."""
    while True:
        try:
            await sweep(store, older_than=older_than)
        except PyMongoError as exc:
            log.warning("orphan_sweep_failed", error=str(exc))
        await asyncio.sleep(every)
