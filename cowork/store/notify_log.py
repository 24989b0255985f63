"""The delivery log: one row per (event, target), the dedupe key, the queue of held and retried
deliveries, and the record of attempts and outcomes.

A row is claimed with a lease before it is sent, so however many nodes look at it, one sends
it; a node that dies mid-send leaves a lease that runs out, and the row is sent again (the one
case where a device may see a push twice). Everything after a recorded outcome is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.store.db import db

_COLUMNS = (
    "id, event_key, event_seq, event_type, user_id, target, channel, device_id, attempts, "
    "due_at, stale_at, envelope, created_at"
)


@dataclass(frozen=True, slots=True)
class EventRef:
    key: str  # Nats-Msg-Id ({database oid}-{outbox id}): stable even if the stream is rebuilt
    seq: int | None
    type: str
    user_id: int
    envelope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    target: str  # "device:{id}" or "email:{template}"
    channel: str  # webpush | fcm | apns | email
    device_id: int | None
    due_at: datetime
    stale_at: datetime | None = None
    skipped: str | None = None  # why it is logged but not sent ("disabled", "stale")


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    event_key: str
    event_seq: int | None
    event_type: str
    user_id: int
    target: str
    channel: str
    device_id: int | None
    attempts: int
    due_at: datetime
    stale_at: datetime | None
    envelope: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_record(cls, record: Any) -> DeliveryRow:
        values = {f.name: record[f.name] for f in fields(cls)}
        if isinstance(values["envelope"], str):
            values["envelope"] = json.loads(values["envelope"])
        return cls(**values)


_INSERT = f"""
INSERT INTO notify_deliveries (event_key, event_seq, event_type, user_id, envelope, target,
    channel, device_id, due_at, stale_at, state, reason, finished_at, lease_until, claimed_by)
SELECT $1, $2, $3, $4, $5::jsonb, t.target, t.channel, t.device_id, t.due_at, t.stale_at,
    CASE WHEN t.reason IS NULL THEN 'pending' ELSE 'skipped' END, t.reason,
    CASE WHEN t.reason IS NULL THEN NULL ELSE $6::timestamptz END,
    CASE WHEN t.claim THEN $13::timestamptz END, CASE WHEN t.claim THEN $14::varchar END
FROM unnest($7::text[], $8::text[], $9::int[], $10::timestamptz[], $11::timestamptz[],
            $12::text[], $15::bool[]) AS t(target, channel, device_id, due_at, stale_at, reason,
                                           claim)
ON CONFLICT (event_key, target) DO NOTHING
RETURNING {_COLUMNS}, lease_until IS NOT NULL AS claimed
"""

_CLAIM = f"""
UPDATE notify_deliveries d SET lease_until = $2, claimed_by = $3
FROM (
    SELECT id FROM notify_deliveries
    WHERE state = 'pending' AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
      AND channel = ANY($4::text[]) AND ($6::text IS NULL OR event_key = $6)
    ORDER BY due_at LIMIT $5
    FOR UPDATE SKIP LOCKED
) due
WHERE d.id = due.id
RETURNING {", ".join("d." + c.strip() for c in _COLUMNS.split(","))}
"""


async def plan(
    event: EventRef,
    rows: Sequence[NewDelivery],
    *,
    now: datetime,
    lease_until: datetime,
    node: str,
    channels: Sequence[str],
) -> tuple[list[DeliveryRow], int]:
    """Log the event's deliveries and claim the ones due now on `channels`; returns (claimed,
    rows that already existed). Keys already logged stay as they are: a redelivered event
    only picks up its rows still pending whose lease ran out (their node died mid-send)."""
    claim = [r.skipped is None and r.due_at <= now and r.channel in channels for r in rows]
    inserted = await db().execute_query_dict(
        _INSERT,
        [
            event.key,
            event.seq,
            event.type,
            event.user_id,
            json.dumps(event.envelope),
            now,
            [r.target for r in rows],
            [r.channel for r in rows],
            [r.device_id for r in rows],
            [r.due_at for r in rows],
            [r.stale_at for r in rows],
            [r.skipped for r in rows],
            lease_until,
            node,
            claim,
        ],
    )
    claimed = [DeliveryRow.from_record(r) for r in inserted if r["claimed"]]
    duplicates = len(rows) - len(inserted)
    if duplicates:
        again = await db().execute_query_dict(
            _CLAIM, [now, lease_until, node, list(channels), len(rows), event.key]
        )
        claimed += [DeliveryRow.from_record(r) for r in again]
    return claimed, duplicates


async def queue(
    conn: BaseDBAsyncClient,
    *,
    key: str,
    event_type: str,
    user_id: int,
    envelope: dict[str, Any],
    target: str,
    channel: str,
    due_at: datetime,
    stale_at: datetime | None,
) -> None:
    """Log one delivery that no event brings (an account e-mail), pending, in the caller's
    transaction: the pass over due rows sends it like a held or retried one."""
    await conn.execute_query(
        "INSERT INTO notify_deliveries (event_key, event_type, user_id, envelope, target, "
        "channel, due_at, stale_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) "
        "ON CONFLICT (event_key, target) DO NOTHING",
        [key, event_type, user_id, json.dumps(envelope), target, channel, due_at, stale_at],
    )


async def claim_due(
    now: datetime, lease_until: datetime, node: str, channels: Sequence[str], limit: int
) -> list[DeliveryRow]:
    """Claim pending rows whose time has come (held by quiet hours, retried, or abandoned by a
    node that died holding the lease)."""
    if limit <= 0 or not channels:
        return []
    rows = await db().execute_query_dict(
        _CLAIM, [now, lease_until, node, list(channels), limit, None]
    )
    return [DeliveryRow.from_record(r) for r in rows]


async def release(ids: Sequence[int]) -> None:
    """Give claimed rows back untried (their channel is busy): the next pass takes them."""
    if ids:
        await db().execute_query(
            "UPDATE notify_deliveries SET lease_until = NULL, claimed_by = NULL "
            "WHERE id = ANY($1::bigint[]) AND state = 'pending'",
            [list(ids)],
        )


async def record(
    delivery_id: int,
    *,
    state: str,
    now: datetime,
    attempted: bool,
    due_at: datetime | None = None,
    status: int | None = None,
    error: str | None = None,
    reason: str | None = None,
) -> None:
    """Write an attempt's outcome: `pending` with a new `due_at` to retry, else final. A sent
    push also stamps its device's `last_success_at` (same statement)."""
    await db().execute_query(
        "WITH d AS (UPDATE notify_deliveries SET state = $2::varchar, "
        "attempts = attempts + $3::int, due_at = COALESCE($4, due_at), "
        "last_status = COALESCE($5, last_status), last_error = $6, "
        "reason = COALESCE($7, reason), lease_until = NULL, "
        "finished_at = CASE WHEN $2::varchar = 'pending' THEN NULL ELSE $8::timestamptz END "
        "WHERE id = $1 RETURNING device_id) "
        "UPDATE push_devices SET last_success_at = $8 FROM d "
        "WHERE push_devices.id = d.device_id AND $2::varchar = 'sent'",
        [delivery_id, state, int(attempted), due_at, status, error, reason, now],
    )


async def prune(before: datetime, batch: int = 5000) -> int:
    """Delete finished rows older than `before` (kept while JetStream could still redeliver)."""
    rows = await db().execute_query_dict(
        "DELETE FROM notify_deliveries WHERE id IN (SELECT id FROM notify_deliveries "
        "WHERE finished_at < $1 LIMIT $2) RETURNING id",
        [before, batch],
    )
    return len(rows)
