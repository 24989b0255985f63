"""The webhook delivery log: one row per (endpoint, event), which is also the retry queue, and
one attempt row per request made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.webhooks import DeliveryStatus
from cowork.store.db import db
from cowork.store.rights import manages_sql
from cowork.store.sql import Script


@dataclass(frozen=True, slots=True)
class EventIn:
    """One event as webhooks send it: the same body (and webhook-id) for every endpoint."""

    message_id: str
    event_type: str
    location_id: int
    event_at: datetime
    payload: str


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    payload: str
    attempts: int
    give_up_at: datetime


# An endpoint gets an event if it subscribed to the type and the location, and its owner may
# still manage that location now: a manager removed from a location stops receiving it.
_PLAN = (
    "INSERT INTO webhook_deliveries (endpoint_id, message_id, event_type, location_id, event_at,"
    " payload, status, next_attempt_at, give_up_at)"
    " SELECT e.id, $1::varchar, $2::varchar, $3::int, $4::timestamptz, $5::text,"
    " CASE WHEN e.enabled THEN 'pending' ELSE 'skipped' END,"
    " CASE WHEN e.enabled THEN $6::timestamptz END, $7"
    " FROM webhook_endpoints e JOIN users u ON u.id = e.owner_id"
    f" WHERE $2::varchar = ANY(e.events) AND $3::int = ANY(e.location_ids)"
    f" AND {manages_sql('u', '$3::int')}"
    " ON CONFLICT (endpoint_id, message_id) DO NOTHING RETURNING id"
)


async def plan(event: EventIn, *, now: datetime, give_up_at: datetime) -> int:
    """Log the event for every endpoint that takes it; how many were new (a redelivered
    event adds none)."""
    rows = await db().execute_query_dict(
        _PLAN,
        [
            event.message_id,
            event.event_type,
            event.location_id,
            event.event_at,
            event.payload,
            now,
            give_up_at,
        ],
    )
    return len(rows)


_CLAIM = (
    "WITH due AS (SELECT d.id FROM webhook_deliveries d"
    " JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled"
    " WHERE d.status = 'pending' AND d.next_attempt_at <= $1"
    " ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM due, webhook_endpoints e"
    " WHERE d.id = due.id AND e.id = d.endpoint_id"
    " RETURNING d.id, d.endpoint_id, e.url, e.secret, d.message_id, d.payload, d.attempts,"
    " d.give_up_at"
)


async def claim_due(now: datetime, lease_until: datetime, limit: int) -> list[DueDelivery]:
    """Take due deliveries for this node until `lease_until` (a node that dies mid-send lets
    them come due again then: at least once)."""
    if limit <= 0:
        return []
    rows = await db().execute_query_dict(_CLAIM, [now, lease_until, limit])
    return [DueDelivery(**r) for r in rows]


async def next_due() -> datetime | None:
    rows = await db().execute_query_dict(
        "SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'"
    )
    return rows[0]["at"] if rows else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: `status` after it, and when to try next if pending."""

    at: datetime
    status: DeliveryStatus
    code: int | None
    error: str | None
    duration_ms: int
    node: str
    next_attempt_at: datetime | None = None


async def record(delivery: DueDelivery, outcome: Outcome) -> datetime | None:
    """Store the attempt and the delivery's new state, and the endpoint's record of success
    and failure, in one statement; returns the endpoint's `last_success_at` after it."""
    failed = outcome.status is not DeliveryStatus.SUCCEEDED
    script = Script()
    script.add(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?,"
        " last_attempt_at = ?, last_status_code = ?, last_error = ? WHERE id = ?"
        " AND status = 'pending' RETURNING endpoint_id",
        outcome.status.value,
        outcome.next_attempt_at,
        outcome.at,
        outcome.code,
        outcome.error,
        delivery.id,
    )
    script.add(
        "INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms, node)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        delivery.id,
        outcome.at,
        outcome.code,
        outcome.error,
        outcome.duration_ms,
        outcome.node,
    )
    change = (
        "failing_since = COALESCE(failing_since, ?::timestamptz)"
        if failed
        else "failing_since = NULL, last_success_at = ?::timestamptz"
    )
    script.add(
        f"UPDATE webhook_endpoints SET {change} WHERE id = ? RETURNING last_success_at",
        outcome.at,
        delivery.endpoint_id,
    )
    rows = await script.run(db(), "SELECT last_success_at FROM s2")
    return rows[0]["last_success_at"] if rows else None


_ITEM = (
    "id, message_id, event_type, location_id, event_at, status, attempts, next_attempt_at,"
    " last_attempt_at, last_status_code, last_error, created_at"
)


async def page(
    endpoint_id: int, status: str | None, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first (keyset on id)."""
    return await db().execute_query_dict(
        f"SELECT {_ITEM} FROM webhook_deliveries WHERE endpoint_id = $1"
        " AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3)"
        " ORDER BY id DESC LIMIT $4",
        [endpoint_id, status, before_id, limit],
    )


async def one(endpoint_id: int, delivery_id: int) -> dict[str, Any] | None:
    rows = await db().execute_query_dict(
        f"SELECT {_ITEM}, payload FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2",
        [endpoint_id, delivery_id],
    )
    if not rows:
        return None
    attempts = await db().execute_query_dict(
        "SELECT at, status_code, error, duration_ms, node FROM webhook_attempts"
        " WHERE delivery_id = $1 ORDER BY id",
        [delivery_id],
    )
    return {**rows[0], "attempts_made": attempts}


_REQUEUE = (
    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2,"
    " give_up_at = $3, last_error = NULL WHERE endpoint_id = $1"
)


async def requeue_one(
    conn: BaseDBAsyncClient, endpoint_id: int, delivery_id: int, now: datetime, give_up_at: datetime
) -> bool:
    """Send this delivery again (same webhook-id and body), due now, with a fresh window."""
    rows = await conn.execute_query_dict(
        f"{_REQUEUE} AND id = $4 RETURNING id", [endpoint_id, now, give_up_at, delivery_id]
    )
    return bool(rows)


async def requeue_range(
    conn: BaseDBAsyncClient,
    endpoint_id: int,
    since: datetime,
    until: datetime,
    statuses: Sequence[str],
    now: datetime,
    give_up_at: datetime,
) -> int:
    """Send again every delivery of events in [since, until) with one of `statuses`."""
    rows = await conn.execute_query_dict(
        f"{_REQUEUE} AND event_at >= $4 AND event_at < $5 AND status = ANY($6::text[])"
        " RETURNING id",
        [endpoint_id, now, give_up_at, since, until, list(statuses)],
    )
    return len(rows)


async def prune(before: datetime) -> int:
    """Forget deliveries older than the log's retention (their attempts go with them)."""
    rows = await db().execute_query_dict(
        "DELETE FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending' RETURNING id",
        [before],
    )
    return len(rows)
