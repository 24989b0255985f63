"""Reminder deadlines in SQL: "starts in N minutes" and "check-in is open", derived from the
booking's start, the member's preferred lead and the location's check-in window.

Nothing is scheduled when a booking is made: a reminder is due when its instant has come for a
confirmed booking made before that instant, and fired when a row in `booking_reminders` says
so (written with its outbox event, in one transaction). Whichever node's timer gets there
first fires it; the others skip the locked booking, then see the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.notifications import DEFAULT_PREFERENCES, MAX_REMINDER_LEAD
from cowork.domain.schedule import BookingLimits
from cowork.store.db import db
from cowork.store.events import BookingFacts

# The longest lead either kind can have (preference: MAX_REMINDER_LEAD; check-in window: 1440):
# only bookings starting within it can have a reminder due.
MAX_LEAD = timedelta(minutes=max(MAX_REMINDER_LEAD, 24 * 60))
_LEAD = DEFAULT_PREFERENCES.reminder_lead_minutes
_EARLY = BookingLimits().check_in_early_minutes

# $1 now, $2 no-show grace, $3 the latest start considered. Each kind's `until` is when it
# stops mattering: the start (a reminder), check-in closing (check-in open).
_CANDIDATES = f"""
SELECT b.id, b.space_id, b.location_id, b.user_id, b.starts_at, b.ends_at, b.status,
       b.price_cents, b.currency, b.expires_at, k.kind, k.due_at, k.until
FROM bookings b
JOIN locations l ON l.id = b.location_id
LEFT JOIN notification_preferences p ON p.user_id = b.user_id
CROSS JOIN LATERAL (VALUES
    ('reminder',
     b.starts_at - make_interval(mins => COALESCE(p.reminder_lead_minutes, {_LEAD})),
     b.starts_at),
    ('check_in_open',
     b.starts_at - make_interval(
         mins => COALESCE((l.booking_rules ->> 'check_in_early_minutes')::int, {_EARLY})),
     b.starts_at + $2::interval)
) AS k(kind, due_at, until)
WHERE b.status = 'confirmed' AND b.starts_at > $1::timestamptz - $2::interval
  AND b.starts_at <= $3::timestamptz
  AND k.until > $1 AND k.due_at > b.created_at
  AND NOT EXISTS (SELECT 1 FROM booking_reminders r
                  WHERE r.booking_id = b.id AND r.kind = k.kind AND r.starts_at = b.starts_at)
"""

# $4 batch size, $5 node. Locking the bookings (SKIP LOCKED) keeps two timers off the same
# rows and a concurrent cancel out of the snapshot; the primary key is the last word.
_FIRE = f"""
WITH due AS ({_CANDIDATES} AND k.due_at <= $1
             ORDER BY k.due_at LIMIT $4 FOR NO KEY UPDATE OF b SKIP LOCKED),
fired AS (
    INSERT INTO booking_reminders (booking_id, kind, starts_at, due_at, fired_at, node_id)
    SELECT id, kind, starts_at, due_at, $1, $5 FROM due
    ON CONFLICT DO NOTHING
    RETURNING booking_id, kind
)
SELECT due.* FROM due JOIN fired ON fired.booking_id = due.id AND fired.kind = due.kind
ORDER BY due.due_at, due.id
"""

_NEXT = f"SELECT min(due_at) AS at FROM ({_CANDIDATES}) c"


@dataclass(frozen=True, slots=True)
class DueReminder:
    kind: str  # reminder | check_in_open
    due_at: datetime
    until: datetime
    booking: BookingFacts


async def fire_due(
    conn: BaseDBAsyncClient, now: datetime, grace: timedelta, limit: int, node: str
) -> list[DueReminder]:
    """Mark up to `limit` due reminders fired (inside the caller's transaction); those marked
    here, for the caller to write their events in the same transaction."""
    rows = await conn.execute_query_dict(_FIRE, [now, grace, now + MAX_LEAD, limit, node])
    return [
        DueReminder(
            kind=r["kind"],
            due_at=r["due_at"],
            until=r["until"],
            booking=BookingFacts(
                id=r["id"],
                space_id=r["space_id"],
                location_id=r["location_id"],
                user_id=r["user_id"],
                starts_at=r["starts_at"],
                ends_at=r["ends_at"],
                status=r["status"],
                price_cents=r["price_cents"],
                currency=r["currency"],
                expires_at=r["expires_at"],
            ),
        )
        for r in rows
    ]


async def next_due_at(now: datetime, grace: timedelta, within: timedelta) -> datetime | None:
    """When the next reminder not yet fired is due (looking `within` ahead), or None."""
    rows = await db().execute_query_dict(_NEXT, [now, grace, now + MAX_LEAD + within])
    at: datetime | None = rows[0]["at"] if rows else None
    return at


async def prune(before: datetime) -> int:
    """Forget fired reminders of starts long past (they can never be due again)."""
    rows = await db().execute_query_dict(
        "WITH gone AS (DELETE FROM booking_reminders WHERE starts_at < $1 RETURNING 1) "
        "SELECT count(*) AS n FROM gone",
        [before],
    )
    return int(rows[0]["n"])
