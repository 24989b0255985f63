"""Reminders fired by the timer: "starts in N minutes" and "check-in is open", once per booking
(and start) across nodes; each is an outbox event written with its fired mark."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.notifications import REMINDER_EVENTS, minutes_left
from cowork.store import reminders as store
from cowork.store.events import add_booking_event
from cowork.store.sql import Script

BATCH = 200


async def fire_due(fx: Effects, *, grace: timedelta, node: str, limit: int = BATCH) -> int:
    """Fire up to `limit` due reminders in one transaction; how many this node fired."""
    now = fx.clock.now()
    async with in_transaction() as conn:
        due = await store.fire_due(conn, now, grace, limit, node)
        if due:
            script = Script()
            for reminder in due:
                extra: dict[str, Any] = {"until": reminder.until.isoformat()}
                if reminder.kind == "reminder":
                    extra["lead_minutes"] = minutes_left(reminder.booking.starts_at, now)
                add_booking_event(script, REMINDER_EVENTS[reminder.kind], reminder.booking, **extra)
            await script.run(conn)
    if due:
        fx.committed()
    return len(due)
