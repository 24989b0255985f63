"""Buffers hold under a cross-node storm: the exclusion constraint guards the widened range.

Fault it catches: buffers known only to each node's memory. Two nodes' actors race for
09:00-10:00 and 10:00-11:00 of a space with 15 minutes after each booking; memory on one node
cannot see the other's write, so without the constraint both slots would be won.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.e2e.nodes import start_together
from tests.e2e.test_booking_race import bearer, post
from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.e2e

ROUNDS = 8
PER_SLOT = 60


async def test_adjacent_slots_across_nodes_never_both_win_the_turnaround(cluster, db, orm):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=900, buffer_after_minutes=15)
    users = [await make_user() for _ in range(10)]
    nodes = await start_together(cluster, "buf-a", "buf-b")
    base = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    connector = aiohttp.TCPConnector(limit=2 * PER_SLOT)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:
        for n in range(ROUNDS):
            nine = base + timedelta(hours=3 * n)
            bodies = [
                {"start": s.isoformat(), "end": (s + timedelta(hours=1)).isoformat()}
                for s in (nine, nine + timedelta(hours=1))
            ]
            replies = await asyncio.gather(
                *(
                    post(
                        http,
                        f"{nodes[i % 2].url}/api/v1/spaces/{space.id}/bookings",
                        bodies[(i // 2) % 2],  # each node asks for both slots
                        bearer(users[i % len(users)].id),
                    )
                    for i in range(2 * PER_SLOT)
                )
            )
            codes = [status for status, _, _ in replies]
            assert codes.count(201) == 1, sorted(set(codes))
            assert {p["code"] for s, _, p in replies if s == 409} == {"slot_taken"}
            live = await db.fetchval(
                "SELECT count(*) FROM bookings WHERE space_id = $1 AND starts_at >= $2"
                " AND starts_at < $3 AND status IN ('held', 'confirmed', 'checked_in')",
                space.id,
                nine,
                nine + timedelta(hours=2),
            )
            assert live == 1
