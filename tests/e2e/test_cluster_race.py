"""No double booking with three nodes, whether HAProxy hashes the space or not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.e2e.haproxy import Reply, ha_cluster, ha_db, ha_stack, send, session  # noqa: F401 (fixtures)
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.e2e

STORM = 300


def slot(days: int) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}


async def storm(
    http: aiohttp.ClientSession, urls: list[str], space_id: int, body: dict, users: list
) -> list[Reply]:
    return await asyncio.gather(
        *(
            send(
                http,
                "POST",
                f"{urls[i % len(urls)]}/api/v1/spaces/{space_id}/bookings",
                json=body,
                headers=bearer(users[i % len(users)].id),
            )
            for i in range(STORM)
        )
    )


def assert_one_winner(replies: list[Reply]) -> None:
    codes = [r.status for r in replies]
    assert codes.count(201) == 1, sorted(set(codes))
    for r in replies:
        if r.status == 201:
            continue
        # Lost the race (409), or met the actor's bounded mailbox (503 + Retry-After): all
        # 300 wait on one space's actor. Never a 5xx of any other kind.
        assert (r.status, r.code) in {(409, "slot_taken"), (503, "space_busy")}, r
        if r.status == 503:
            assert r.headers["retry-after"]


async def test_one_hold_wins_through_haproxy_and_straight_to_the_nodes(ha_cluster, ha_db):  # noqa: F811
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1500)
    users = [await make_user() for _ in range(10)]
    async with session() as http:
        hashed = await storm(http, [ha_cluster.proxy.url], space.id, slot(3), users)
        spread = await storm(http, [n.url for n in ha_cluster.nodes], space.id, slot(4), users)
    assert_one_winner(hashed)
    assert_one_winner(spread)
    # Through HAProxy every request met the same node; straight, all three took part.
    assert {r.headers.get("x-served-by") for r in hashed} == {hashed[0].headers["x-served-by"]}
    live = await ha_db.fetch(
        "SELECT starts_at, count(*) AS n FROM bookings WHERE space_id = $1 "
        "AND status IN ('held', 'confirmed', 'checked_in') GROUP BY 1",
        space.id,
    )
    assert [row["n"] for row in live] == [1, 1]
