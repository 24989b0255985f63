"""Deadlines survive a crash and are processed exactly once by several nodes."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.nodes import start_together
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.polling import poll

pytestmark = pytest.mark.e2e


async def wait_for(db, query: str, *args, expected, timeout: float = 30.0) -> None:
    await poll(lambda: db.fetchval(query, *args), lambda value: value == expected, timeout)


def slot(hours_ahead: int) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=2, hours=hours_ahead)).replace(
        minute=0, second=0, microsecond=0
    )
    return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}


async def test_pending_hold_expires_after_the_node_is_killed(orm, cluster, db):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=500)
    member = await make_user()
    node = cluster("crash-a", COWORK_HOLD_TTL_SECONDS="3")
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{node.url}/api/v1/spaces/{space.id}/bookings", json=slot(1), headers=bearer(member.id)
        )
        assert r.status_code == 201 and r.json()["status"] == "held"
    node.stop(signal.SIGKILL)
    cluster("crash-b", COWORK_HOLD_TTL_SECONDS="3")
    await wait_for(
        db, "SELECT status FROM bookings WHERE id = $1", r.json()["id"], expected="expired"
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'booking.expired' AND user_id IS NULL"
        )
        == 1
    )


async def test_two_nodes_process_every_deadline_exactly_once(orm, cluster, db):
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=500) for _ in range(6)]
    member = await make_user()
    nodes = await start_together(cluster, "once-a", "once-b", COWORK_HOLD_TTL_SECONDS="2")
    holds = 30
    async with httpx.AsyncClient(timeout=10) as http:
        for i in range(holds):
            node = nodes[i % 2]
            space = spaces[i % len(spaces)]
            r = await http.post(
                f"{node.url}/api/v1/spaces/{space.id}/bookings",
                json=slot(i),
                headers=bearer(member.id),
            )
            assert r.status_code == 201, r.text
    await wait_for(db, "SELECT count(*) FROM bookings WHERE status = 'expired'", expected=holds)
    per_booking = await db.fetch(
        "SELECT (payload->>'booking_id')::bigint AS id, count(*) AS n FROM outbox "
        "WHERE type = 'booking.expired' AND user_id IS NULL GROUP BY 1"
    )
    assert len(per_booking) == holds
    assert {row["n"] for row in per_booking} == {1}
