"""Outgoing webhook endpoints: register, change, delete and replay (staff, audited per location
covered), and disable (the sender, after a whole window of failures; the owner is told)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.problems import Problem
from cowork.domain.slots import to_utc
from cowork.domain.webhooks import DeliveryStatus, unknown_events
from cowork.integrations.signing import new_secret
from cowork.integrations.transport import Transport
from cowork.notify.outbound import OutboundRefusedError
from cowork.store import audit, webhook_log
from cowork.store import webhooks as store
from cowork.store.models import Location
from cowork.store.webhooks import EndpointRow

REPLAYABLE = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
EVERY_OUTCOME = (*REPLAYABLE, DeliveryStatus.SUCCEEDED)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def endpoint_view(row: EndpointRow) -> dict[str, Any]:
    """An endpoint as staff (and the audit log) see it: everything but its secret."""
    return {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "events": sorted(row.events),
        "location_ids": sorted(row.location_ids),
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "disabled_at": _iso(row.disabled_at),
        "failing_since": _iso(row.failing_since),
        "last_success_at": _iso(row.last_success_at),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def _checked(transport: Transport, given: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(given)
    if "events" in values:
        unknown = unknown_events(values["events"])
        if unknown:
            raise Problem.UNKNOWN_WEBHOOK_EVENT.error(
                f"Not webhook event types: {', '.join(unknown)}.", unknown=unknown
            )
        values["events"] = sorted(set(values["events"]))
    if "location_ids" in values:
        values["location_ids"] = sorted(set(values["location_ids"]))
        found = await Location.filter(id__in=values["location_ids"]).count()
        if found != len(values["location_ids"]):
            raise Problem.UNKNOWN_LOCATION.error("A location id names no location.")
    if "url" in values:
        try:
            await transport.check(values["url"])
        except OutboundRefusedError as exc:
            raise Problem.WEBHOOK_URL_REFUSED.error(exc.detail, reason=exc.reason) from exc
    return values


async def _audit(
    conn: BaseDBAsyncClient,
    actor_id: int | None,
    action: str,
    locations: Collection[int],
    endpoint_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    # One entry per location covered: each location's staff find it in their audit log.
    for location_id in sorted(locations):
        await audit.record(
            conn, actor_id, action, "webhook", endpoint_id, location_id, before, after
        )


async def register_endpoint(
    fx: Effects, transport: Transport, actor_id: int, given: Mapping[str, Any]
) -> tuple[EndpointRow, str]:
    """A new endpoint and its signing secret (`whsec_…`)."""
    values = await _checked(transport, given)
    secret = new_secret()
    async with in_transaction() as conn:
        row = await store.insert(conn, actor_id, {**values, "secret": secret})
        after = endpoint_view(row)
        await _audit(conn, actor_id, "webhook.created", row.location_ids, row.id, None, after)
    return row, secret


async def update_endpoint(
    fx: Effects,
    transport: Transport,
    actor_id: int,
    row: EndpointRow,
    changes: Mapping[str, Any],
) -> EndpointRow:
    """Change the URL, events, locations, description; `enabled: true` re-enables."""
    values = await _checked(transport, changes)
    async with in_transaction() as conn:
        updated = await store.update(conn, row.id, values, fx.clock.now())
        if updated is None:
            raise Problem.WEBHOOK_NOT_FOUND.error()
        covered = set(row.location_ids) | set(updated.location_ids)
        before, after = endpoint_view(row), endpoint_view(updated)
        await _audit(conn, actor_id, "webhook.updated", covered, row.id, before, after)
    return updated


async def delete_endpoint(fx: Effects, actor_id: int, row: EndpointRow) -> None:
    """The endpoint and its delivery log go; nothing more is sent to it."""
    async with in_transaction() as conn:
        if await store.delete(conn, row.id):
            before = endpoint_view(row)
            await _audit(conn, actor_id, "webhook.deleted", row.location_ids, row.id, before, None)


async def replay_delivery(
    fx: Effects, actor_id: int, row: EndpointRow, delivery_id: int, window: timedelta
) -> None:
    """Send one delivery again: same `webhook-id` and body, due now, a fresh retry window."""
    if not row.enabled:
        raise Problem.WEBHOOK_DISABLED.error()
    now = fx.clock.now()
    async with in_transaction() as conn:
        if not await webhook_log.requeue_one(conn, row.id, delivery_id, now, now + window):
            raise Problem.WEBHOOK_DELIVERY_NOT_FOUND.error()
        after = {"delivery_id": delivery_id}
        await _audit(conn, actor_id, "webhook.replayed", row.location_ids, row.id, None, after)


async def replay_range(
    fx: Effects,
    actor_id: int,
    row: EndpointRow,
    since: datetime,
    until: datetime,
    *,
    only_failed: bool,
    window: timedelta,
) -> int:
    """Send again the deliveries of events in [since, until): by default only those that
    failed or were skipped while the endpoint was disabled; how many were queued."""
    if not row.enabled:
        raise Problem.WEBHOOK_DISABLED.error()
    since, until = to_utc(since, "since"), to_utc(until, "until")
    if since >= until:
        raise Problem.INVALID_REPLAY_RANGE.error("`since` must be before `until`.")
    statuses = [s.value for s in (REPLAYABLE if only_failed else EVERY_OUTCOME)]
    now = fx.clock.now()
    async with in_transaction() as conn:
        queued = await webhook_log.requeue_range(
            conn, row.id, since, until, statuses, now, now + window
        )
        after = {"since": since.isoformat(), "until": until.isoformat(), "queued": queued}
        await _audit(conn, actor_id, "webhook.replayed", row.location_ids, row.id, None, after)
    return queued


async def disable_endpoint(fx: Effects, endpoint_id: int, reason: str) -> None:
    """The endpoint failed for a whole window: stop sending, fail what is queued, tell its
    owner (stream event and notification). Deliveries of later events are logged as skipped,
    so they can be replayed once it is enabled again."""
    async with in_transaction() as conn:
        row = await store.disable(conn, endpoint_id, reason, fx.clock.now())
        if row is None:
            return
        await store.tell_owner(conn, row)
        after = endpoint_view(row)
        await _audit(conn, None, "webhook.disabled", row.location_ids, row.id, None, after)
    fx.committed()
