"""Waitlist offers across nodes: one offer however many wait, FIFO, and an offer whose node
dies still lapses exactly once and passes to the next member."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.e2e.nodes import start_together
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.polling import poll

pytestmark = pytest.mark.e2e

WAITING = 100
# Offers are made to lapse by moving their deadline in the database, so a timer finds them at
# its next sweep (every 5 s by default): sweeping every second, the tests wait less for it.
SWEEP_EVERY_SECOND = {"COWORK_TIMER_MAX_SLEEP_SECONDS": "1"}


def one_slot() -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}


async def call(http: aiohttp.ClientSession, method: str, url: str, user_id: int, **kw: Any):
    async with http.request(method, url, headers=bearer(user_id), **kw) as r:
        return r.status, await r.json(content_type=None)


async def entries_by_status(db, space_id: int) -> dict[str, list[int]]:
    rows = await db.fetch(
        "SELECT w.user_id, w.status, b.status AS booking FROM waitlist_entries w"
        " LEFT JOIN bookings b ON b.id = w.booking_id WHERE w.space_id = $1 ORDER BY w.id",
        space_id,
    )
    out: dict[str, list[int]] = {}
    for r in rows:
        key = r["status"] if r["booking"] is None else f"{r['status']}:{r['booking']}"
        out.setdefault(key, []).append(r["user_id"])
    return out


async def arrange(cluster, db, nodes):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=700)
    holder = await make_user()
    members = [await make_user() for _ in range(WAITING)]
    body = one_slot()
    connector = aiohttp.TCPConnector(limit=WAITING)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
    status, held = await call(
        http, "POST", f"{nodes[0].url}/api/v1/spaces/{space.id}/bookings", holder.id, json=body
    )
    assert status == 201, held
    joined = await asyncio.gather(
        *(
            call(
                http,
                "POST",
                f"{nodes[i % len(nodes)].url}/api/v1/spaces/{space.id}/waitlist",
                m.id,
                json=body,
            )
            for i, m in enumerate(members)
        )
    )
    assert [s for s, _ in joined] == [201] * WAITING, {s for s, _ in joined}
    order = [
        r["user_id"]
        for r in await db.fetch(
            "SELECT user_id FROM waitlist_entries WHERE space_id = $1 ORDER BY id", space.id
        )
    ]
    return http, space, holder, held, order


async def offered_to(db, space_id: int) -> list[int]:
    return (await entries_by_status(db, space_id)).get("offered:held", [])


async def test_a_hundred_waiting_one_cancel_exactly_one_offer_then_the_next(cluster, db, orm):
    """Faults: two nodes each offer the freed slot (two holds, two members told), an offer
    goes to someone other than the oldest entry, a timed-out offer is not passed on."""
    nodes = await start_together(cluster, "wl-a", "wl-b", **SWEEP_EVERY_SECOND)
    http, space, holder, held, order = await arrange(cluster, db, nodes)
    async with http:
        status, _ = await call(
            http,
            "POST",
            f"{nodes[1].url}/api/v1/spaces/{space.id}/bookings/{held['id']}/cancel",
            holder.id,
        )
        assert status == 200
    assert await offered_to(db, space.id) == [order[0]]
    live = await db.fetchval(
        "SELECT count(*) FROM bookings WHERE space_id = $1 AND status = 'held'", space.id
    )
    assert live == 1
    told = await db.fetch("SELECT user_id FROM outbox WHERE type = 'waitlist.offer'")
    assert [t["user_id"] for t in told] == [order[0]]

    # the offer times out (its deadline moved to now): the next in line gets it, once
    await db.execute(
        "UPDATE bookings SET expires_at = now() - interval '1 second',"
        " deadline_at = now() - interval '1 second' WHERE space_id = $1 AND status = 'held'",
        space.id,
    )
    await poll(lambda: offered_to(db, space.id), lambda users: users == [order[1]], 40)
    told = await db.fetch("SELECT user_id FROM outbox WHERE type = 'waitlist.offer' ORDER BY id")
    assert [t["user_id"] for t in told] == order[:2]
    expired = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE type = 'booking.expired' AND user_id IS NULL"
    )
    assert expired == 1


async def test_an_offer_whose_node_dies_still_lapses_once(cluster, db, orm):
    """Fault: the offer's deadline lived with the node that made it (or was claimed by it):
    the slot stays held for ever, or two nodes both expire it and offer it twice."""
    a, b = await start_together(cluster, "wl-kill-a", "wl-kill-b", **SWEEP_EVERY_SECOND)
    http, space, holder, held, order = await arrange(cluster, db, [a])
    async with http:
        status, _ = await call(
            http,
            "POST",
            f"{a.url}/api/v1/spaces/{space.id}/bookings/{held['id']}/cancel",
            holder.id,
        )
        assert status == 200
    assert await offered_to(db, space.id) == [order[0]]
    a.stop(signal.SIGKILL)
    # As if node A had claimed the lapsed offer (its lease running out) and died then.
    await db.execute(
        "UPDATE bookings SET expires_at = now() - interval '1 second',"
        " deadline_at = now() + interval '2 seconds' WHERE space_id = $1 AND status = 'held'",
        space.id,
    )
    await poll(lambda: offered_to(db, space.id), lambda users: users == [order[1]], 40)
    expired = await db.fetch(
        "SELECT payload->>'booking_id' AS id FROM outbox"
        " WHERE type = 'booking.expired' AND user_id IS NULL"
    )
    assert len(expired) == 1
    told = await db.fetch("SELECT user_id FROM outbox WHERE type = 'waitlist.offer' ORDER BY id")
    assert [t["user_id"] for t in told] == order[:2]
    assert b.proc.poll() is None
