"""No double booking with three nodes, whether HAProxy hashes the space or not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.haproxy import ha_cluster  # noqa: F401 (fixture)
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.e2e

STORM = 300


async def storm(http: httpx.AsyncClient, urls: list[str], space_id: int, body, users) -> list[int]:
    requests = [
        http.post(
            f"{urls[i % len(urls)]}/api/v1/spaces/{space_id}/bookings",
            json=body,
            headers=bearer(users[i % len(users)].id),
        )
        for i in range(STORM)
    ]
    return [r.status_code for r in await asyncio.gather(*requests)]


def slot(days: int) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}


async def test_one_hold_wins_through_haproxy_and_straight_to_the_nodes(orm, ha_cluster, db):  # noqa: F811
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1500)
    users = [await make_user() for _ in range(10)]
    limits = httpx.Limits(max_connections=STORM, max_keepalive_connections=STORM)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        hashed = await storm(http, [ha_cluster.proxy.url], space.id, slot(3), users)
        spread = await storm(http, [n.url for n in ha_cluster.nodes], space.id, slot(4), users)
    for codes in (hashed, spread):
        assert codes.count(201) == 1, sorted(set(codes))
        assert codes.count(409) == STORM - 1, sorted(set(codes))
    live = await db.fetch(
        "SELECT starts_at, count(*) AS n FROM bookings WHERE space_id = $1 "
        "AND status IN ('held', 'confirmed', 'checked_in') GROUP BY 1",
        space.id,
    )
    assert [row["n"] for row in live] == [1, 1]
