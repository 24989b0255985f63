"""Fault: timers of many nodes sweeping the same due deadlines at the same instant.

The end-to-end test cannot see a double claim (the actor's conditional update hides the second
one); here every sweep's claims are visible: eight concurrent `claim_due` calls, each on its
own connection, must split the due rows between them with none claimed twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cowork.store.bookings import claim_due
from tests.factories import make_location, make_space, make_user

DUE = 200
SWEEPERS = 8


async def test_concurrent_sweeps_never_claim_a_deadline_twice(orm, db):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=100)
    member = await make_user()
    now = datetime.now(UTC)
    start = now + timedelta(days=2)
    await db.executemany(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status, "
        "price_cents, currency, expires_at, deadline_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, 'held', 100, 'EUR', $6, $6, $7, $7)",
        [
            (
                space.id,
                loc.id,
                member.id,
                start + timedelta(hours=i),
                start + timedelta(hours=i, minutes=30),
                now - timedelta(seconds=1),
                now,
            )
            for i in range(DUE)
        ],
    )

    async def sweep() -> list[int]:
        claimed: list[int] = []
        while batch := await claim_due(now, timedelta(seconds=30), limit=7):
            claimed += [booking_id for booking_id, _, _ in batch]
        return claimed

    results = await asyncio.gather(*(sweep() for _ in range(SWEEPERS)))
    everything = [booking_id for claimed in results for booking_id in claimed]
    assert len(everything) == len(set(everything)), "a deadline was claimed twice"
    assert len(everything) == DUE
    assert sum(1 for claimed in results if claimed) > 1  # the sweeps really did overlap
