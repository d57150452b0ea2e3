"""HTTP routes: subscriptions, their secrets, replay, deliveries and the dead-letter shelf."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from motcua.common.errors import Conflict, InvalidInput
from motcua.common.paging import check_depth
from motcua.webhooks import schemas
from motcua.webhooks.addresses import Policy, RefusedAddress, Unresolvable, resolve_checked
from motcua.webhooks.deps import ManagerDep, WebhooksDep
from motcua.webhooks.model import (
    Caller,
    DeliveryStatus,
    Key,
    SubscriptionStatus,
    WebhookNotFound,
    check_event_types,
    check_url,
    new_secret,
    rotate,
    signing_keys,
)
from motcua.webhooks.replay import replay

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The webhook's id, as created (32 hex digits).")]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _public(doc: dict[str, Any], queue: dict[str, int] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    keys = [Key("", k["created_at"], k.get("expires_at")) for k in doc.get("keys", [])]
    return {
        "id": doc["_id"],
        "url": doc["url"],
        "event_types": doc["event_types"],
        "agency_code": doc.get("agency_code"),
        "status": doc["status"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "secrets": [{"created_at": k.created_at, "expires_at": k.expires_at} for k in signing_keys(keys, now)],
        "replay": doc.get("replay"),
        "queue": queue,
    }


async def _own(webhooks: WebhooksDep, caller: Caller, webhook_id: str) -> dict[str, Any]:
    doc = await webhooks.store.subscription(webhook_id)
    if doc is None or not caller.sees(doc.get("agency_code")):
        raise WebhookNotFound("No webhook with that id.")
    return doc


@router.post("", status_code=201, summary="Subscribe a URL to dossier events")
async def create_webhook(
    caller: ManagerDep, webhooks: WebhooksDep, body: schemas.WebhookCreate, response: Response
) -> schemas.WebhookCreated:
    """Deliveries go to `url` signed with the secret in the answer (shown only here: keep it). An admin may
    subscribe for any agency or, leaving `agency_code` out, for every agency; an approver for their own."""
    settings = webhooks.settings
    agency = caller.agency_for_new(body.agency_code)
    parts = check_url(body.url, development=settings.development, allowed_ports=settings.allowed_ports)
    types = check_event_types(body.event_types)
    if not settings.development:
        assert parts.hostname is not None
        try:
            await resolve_checked(
                parts.hostname, parts.port or 443, Policy(development=False, allowed=settings.allowed_networks)
            )
        except (RefusedAddress, Unresolvable) as exc:
            raise InvalidInput.one("/url", str(exc)) from None
    webhook_id, secret, now = uuid.uuid4().hex, new_secret(), _now()
    doc = {
        "_id": webhook_id,
        "url": body.url,
        "event_types": types,
        "agency_code": agency,
        "status": SubscriptionStatus.ACTIVE.value,
        "keys": [{"sealed": webhooks.sealer.seal(secret, webhook_id), "created_at": now}],
        "created_at": now,
        "updated_at": now,
    }
    await webhooks.store.add_subscription(doc)
    webhooks.dispatcher.changed()
    response.headers["Location"] = f"/v1/webhooks/{webhook_id}"
    return schemas.WebhookCreated(**_public(doc), secret=secret)


@router.get("", summary="Webhooks")
async def list_webhooks(
    caller: ManagerDep,
    webhooks: WebhooksDep,
    agency_code: Annotated[str | None, Query(pattern=schemas.AGENCY_CODE, description="an admin's filter")] = None,
) -> schemas.WebhookPage:
    """An admin sees every webhook (or one agency's); an approver their agency's."""
    if caller.admin:
        docs = await webhooks.store.list_subscriptions(agency_code, every_agency=agency_code is None)
    else:
        docs = await webhooks.store.list_subscriptions(caller.agency, every_agency=False)
    return schemas.WebhookPage(items=[schemas.WebhookPublic(**_public(d)) for d in docs])


@router.get("/{webhook_id}", summary="A webhook")
async def get_webhook(caller: ManagerDep, webhooks: WebhooksDep, webhook_id: WebhookId) -> schemas.WebhookPublic:
    """The webhook with its queue now (waiting, in flight, shelved) and its last replay."""
    doc = await _own(webhooks, caller, webhook_id)
    return schemas.WebhookPublic(**_public(doc, await webhooks.store.counts(webhook_id)))


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(caller: ManagerDep, webhooks: WebhooksDep, webhook_id: WebhookId) -> Response:
    """Stops deliveries and forgets the webhook, its queue and its shelf."""
    await _own(webhooks, caller, webhook_id)
    await webhooks.store.delete_subscription(webhook_id)
    webhooks.dispatcher.changed()
    return Response(status_code=204)


async def _set_status(webhooks: WebhooksDep, caller: Caller, webhook_id: str, status: str) -> schemas.WebhookPublic:
    await _own(webhooks, caller, webhook_id)
    doc = await webhooks.store.update_subscription(webhook_id, {"status": status, "updated_at": _now()})
    if doc is None:
        raise WebhookNotFound("No webhook with that id.")
    webhooks.dispatcher.changed()
    return schemas.WebhookPublic(**_public(doc))


@router.post("/{webhook_id}/pause", summary="Pause deliveries")
async def pause_webhook(caller: ManagerDep, webhooks: WebhooksDep, webhook_id: WebhookId) -> schemas.WebhookPublic:
    """Nothing is sent while paused; events keep queueing (for up to the retry window, then the shelf)."""
    return await _set_status(webhooks, caller, webhook_id, SubscriptionStatus.PAUSED.value)


@router.post("/{webhook_id}/resume", summary="Resume deliveries")
async def resume_webhook(caller: ManagerDep, webhooks: WebhooksDep, webhook_id: WebhookId) -> schemas.WebhookPublic:
    """What queued while paused is delivered, each dossier's events in order."""
    return await _set_status(webhooks, caller, webhook_id, SubscriptionStatus.ACTIVE.value)


@router.post("/{webhook_id}/rotate-secret", summary="Rotate the signing secret")
async def rotate_secret(
    caller: ManagerDep,
    webhooks: WebhooksDep,
    webhook_id: WebhookId,
    overlap_seconds: Annotated[
        float | None, Query(ge=0, le=7 * 24 * 3600, description="how long the old secret still signs too")
    ] = None,
) -> schemas.SecretRotated:
    """A new secret (shown once); during the overlap each delivery carries a signature by the old and the new."""
    doc = await _own(webhooks, caller, webhook_id)
    now = _now()
    overlap = timedelta(
        seconds=webhooks.settings.webhooks_secret_overlap_seconds if overlap_seconds is None else overlap_seconds
    )
    stored = {k["created_at"]: k for k in doc.get("keys", [])}
    keys = [Key(str(i), k["created_at"], k.get("expires_at")) for i, k in enumerate(doc.get("keys", []))]
    secret = new_secret()
    rotated = rotate(keys, secret, now=now, overlap=overlap)
    documents = [{"sealed": webhooks.sealer.seal(secret, webhook_id), "created_at": now}]
    for key in rotated[1:]:
        documents.append({**stored[key.created_at], "expires_at": key.expires_at})
    await webhooks.store.update_subscription(webhook_id, {"keys": documents, "updated_at": now})
    webhooks.dispatcher.changed()
    ends = [k.expires_at for k in rotated[1:] if k.expires_at is not None]
    return schemas.SecretRotated(id=webhook_id, secret=secret, previous_secrets_expire_at=max(ends) if ends else None)


@router.post("/{webhook_id}/replay", status_code=202, summary="Re-send events since a moment")
async def replay_events(
    caller: ManagerDep,
    webhooks: WebhooksDep,
    webhook_id: WebhookId,
    since: Annotated[datetime, Query(description="RFC 3339; events from then on, as far back as the log keeps them")],
) -> schemas.ReplayStarted:
    """Reads the event log again from `since` and queues the webhook's events behind what it already has;
    `replay` on the webhook tells how it went. Deliveries carry the same `webhook-id` as the first time."""
    doc = await _own(webhooks, caller, webhook_id)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    now = _now()
    if since > now:
        raise InvalidInput.one("/since", "must not be in the future")
    if (doc.get("replay") or {}).get("status") == "running" and now - doc["replay"]["requested_at"].replace(
        tzinfo=UTC
    ) < timedelta(hours=1):
        raise Conflict("A replay of this webhook is still running; wait for it to finish.")
    replay_id = uuid.uuid4().hex
    record = {"id": replay_id, "since": since, "requested_at": now, "status": "running"}
    await webhooks.store.update_subscription(webhook_id, {"replay": record})
    webhooks.spawn(replay(webhooks.store, webhooks.settings, webhook_id, since, replay_id), f"replay-{replay_id}")
    return schemas.ReplayStarted(id=webhook_id, replay=schemas.ReplayPublic(**record))


def _page(docs: list[dict[str, Any]], total: int, page: int, page_size: int) -> schemas.DeliveryPage:
    return schemas.DeliveryPage(
        items=[schemas.delivery_public(d) for d in docs], total=total, page=page, page_size=page_size
    )


@router.get("/{webhook_id}/dead-letters", summary="The dead-letter shelf")
async def dead_letters(
    caller: ManagerDep, webhooks: WebhooksDep, webhook_id: WebhookId, page: Page = 1, page_size: PageSize = 20
) -> schemas.DeliveryPage:
    """Deliveries that were not accepted in time, oldest first, each with its attempts."""
    check_depth(page, page_size)
    await _own(webhooks, caller, webhook_id)
    docs, total = await webhooks.store.listed(
        webhook_id, [DeliveryStatus.DEAD.value], skip=(page - 1) * page_size, limit=page_size, newest_first=False
    )
    return _page(docs, total, page, page_size)


@router.post("/{webhook_id}/dead-letters/redrive", summary="Send shelved deliveries again")
async def redrive(
    caller: ManagerDep,
    webhooks: WebhooksDep,
    webhook_id: WebhookId,
    body: Annotated[schemas.Redrive | None, Body()] = None,
) -> schemas.Redriven:
    """Back in the queue, in their dossiers' order, with a fresh retry window: those named, or all."""
    await _own(webhooks, caller, webhook_id)
    ids = body.delivery_ids if body is not None else None
    count = await webhooks.store.redrive(webhook_id, ids, _now())
    webhooks.dispatcher.wake()
    return schemas.Redriven(redriven=count)


@router.get("/{webhook_id}/deliveries", summary="Recent deliveries and their attempts")
async def deliveries(
    caller: ManagerDep,
    webhooks: WebhooksDep,
    webhook_id: WebhookId,
    status: Annotated[Literal["pending", "delivering", "delivered", "dead"] | None, Query()] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> schemas.DeliveryPage:
    """Newest first, each with its attempts (status, latency, response code; ≤ 1 KiB of a failed body)."""
    check_depth(page, page_size)
    await _own(webhooks, caller, webhook_id)
    statuses = [status] if status else [s.value for s in DeliveryStatus]
    docs, total = await webhooks.store.listed(
        webhook_id, statuses, skip=(page - 1) * page_size, limit=page_size, newest_first=True
    )
    return _page(docs, total, page, page_size)
