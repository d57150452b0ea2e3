"""HTTP routes: a signed-in account's in-app notifications."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from motcua.common.auth import CurrentPrincipal
from motcua.common.paging import check_depth
from motcua.notification.deps import StoreDep
from motcua.notification.model import NotificationNotFound
from pydantic import BaseModel

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

NotificationId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="The notification's id, as listed (32 hex digits).")
]


class NotificationPublic(BaseModel):
    """One in-app notification, in the language of its reader."""

    id: str
    kind: str
    title: str
    body: str
    link: str
    application_id: str | None = None
    tracking_code: str | None = None
    status: str | None = None
    created_at: datetime
    read_at: datetime | None = None
    read: bool


class NotificationPage(BaseModel):
    """A page of notifications, newest first, with how many there are and how many are unread."""

    items: list[NotificationPublic]
    total: int
    unread: int
    page: int
    page_size: int


def _public(doc: dict[str, Any]) -> NotificationPublic:
    return NotificationPublic(
        id=doc["_id"],
        kind=doc["kind"],
        title=doc["title"],
        body=doc["body"],
        link=doc["link"],
        application_id=doc.get("application_id"),
        tracking_code=doc.get("tracking_code"),
        status=doc.get("status"),
        created_at=doc["created_at"],
        read_at=doc.get("read_at"),
        read=doc.get("read_at") is not None,
    )


@router.get("", summary="My notifications")
async def list_notifications(
    store: StoreDep,
    principal: CurrentPrincipal,
    page: Annotated[int, Query(ge=1, le=10_000, description="1 for the newest")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    unread: Annotated[bool, Query(description="only those not yet read")] = False,
) -> NotificationPage:
    """The signed-in account's in-app notifications, newest first, a page at a time (the first 10,000)."""
    check_depth(page, page_size)
    docs, total, unread_count = await store.list_notifications(
        principal.sub, page=page, page_size=page_size, unread_only=unread
    )
    return NotificationPage(
        items=[_public(d) for d in docs], total=total, unread=unread_count, page=page, page_size=page_size
    )


@router.post("/{notification_id}/read", summary="Mark a notification read")
async def mark_read(
    store: StoreDep, principal: CurrentPrincipal, notification_id: NotificationId
) -> NotificationPublic:
    """Mark one of your notifications read (again is harmless: the first read time stays). Someone
    else's notification answers 404, as if it did not exist."""
    doc = await store.mark_read(principal.sub, notification_id, datetime.now(UTC))
    if doc is None:
        raise NotificationNotFound("No notification with that id.")
    return _public(doc)
