"""The "your hold is about to expire" notice: once per hold, `expiring_soon_lead_seconds` ahead.

Every node runs the loop; `FOR UPDATE SKIP LOCKED` plus the `expiring_notified_at` marker make
each hold's notice go out once. The event and the marker commit together.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from tortoise.transactions import in_transaction

from cowork.clock import Clock
from cowork.config import Settings
from cowork.store.events import BookingFacts, emit_booking_event
from cowork.tasks import Worker

log = logging.getLogger("cowork.realtime.notices")

BATCH = 200

_DUE = """
SELECT id, space_id, location_id, user_id, starts_at, ends_at, status, price_cents, currency,
       expires_at
FROM bookings
WHERE status = 'held' AND expiring_notified_at IS NULL
  AND expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2
ORDER BY expires_at
LIMIT $3
FOR UPDATE SKIP LOCKED
"""
_MARK = "UPDATE bookings SET expiring_notified_at = $2 WHERE id = ANY($1::bigint[])"


class Waker(Protocol):
    def wake(self) -> None: ...


class ExpiringNotices(Worker):
    name = "expiring-notices"

    def __init__(self, settings: Settings, relay: Waker, clock: Clock) -> None:
        super().__init__()
        self._settings = settings
        self._relay = relay
        self._clock = clock

    async def run(self) -> None:
        while True:
            try:
                while await self.run_once(self._clock.now()) == BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("expiring-soon notices failed; retrying")
            await asyncio.sleep(self._settings.expiring_poll_seconds)

    async def run_once(self, now: datetime) -> int:
        """Emit `booking.expiring` for holds expiring within the lead; returns how many."""
        horizon = now + timedelta(seconds=self._settings.expiring_soon_lead_seconds)
        async with in_transaction() as conn:
            _, rows = await conn.execute_query(_DUE, [now, horizon, BATCH])
            for row in rows:
                facts = BookingFacts(
                    id=row["id"],
                    space_id=row["space_id"],
                    location_id=row["location_id"],
                    user_id=row["user_id"],
                    starts_at=row["starts_at"],
                    ends_at=row["ends_at"],
                    status=row["status"],
                    price_cents=row["price_cents"],
                    currency=row["currency"],
                    expires_at=row["expires_at"],
                )
                await emit_booking_event(conn, "booking.expiring", facts)
            if rows:
                await conn.execute_query(_MARK, [[r["id"] for r in rows], now])
        if rows:
            self._relay.wake()
        return len(rows)
