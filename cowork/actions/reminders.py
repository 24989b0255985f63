"""Reminders fired by the timer: "starts in N minutes" and "check-in is open", once per booking
(and start) across nodes; each is an outbox event written with its fired mark."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.notifications import REMINDER_EVENTS, minutes_left
from cowork.store import reminders as store
from cowork.store.events import EventRows, add_event_rows, booking_event_rows
from cowork.store.sql import Script

BATCH = 200


async def fire_due(fx: Effects, *, grace: timedelta, node: str, limit: int = BATCH) -> int:
    """Fire up to `limit` due reminders in one transaction; how many this node fired."""
    now = fx.clock.now()
    async with in_transaction() as conn:
        due = await store.fire_due(conn, now, grace, limit, node)
        if due:
            events = EventRows()
            for reminder in due:
                extra: dict[str, Any] = {"until": reminder.until.isoformat()}
                if reminder.kind == "reminder":
                    extra["lead_minutes"] = minutes_left(reminder.booking.starts_at, now)
                kind = REMINDER_EVENTS[reminder.kind]
                events.extend(booking_event_rows(kind, reminder.booking, **extra))
            script = Script()
            add_event_rows(script, events)
            await script.run(conn)
    if due:
        fx.committed()
    return len(due)
