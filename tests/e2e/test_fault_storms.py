"""Fault: nodes racing each other. Partially overlapping holds stormed across three nodes, through
HAProxy and straight to each node (so three actors, each with its own memory, compete for one
space and only PostgreSQL can arbitrate). And the proof that the checker would see it: the same
storm against a database whose exclusion constraint was dropped is caught double-booking.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.haproxy import ha_cluster, ha_db, ha_stack  # noqa: F401 (fixtures)
from tests.factories import make_location, make_space, make_user
from tests.faults import FAULTS
from tests.history import History, Scope, StreamRecorder, check, storms

pytestmark = pytest.mark.e2e


def base_time(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )


async def warm_actors(http, urls: list[str], space_ids: list[int], day: datetime) -> None:
    """Start every space's actor on every node with an empty memory before the storm."""
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    for url in urls:
        for space_id in space_ids:
            async with http.get(f"{url}/api/v1/spaces/{space_id}/availability", params=window) as r:
                assert r.status == 200


async def test_partially_overlapping_storm_across_three_nodes(ha_cluster, ha_db):  # noqa: F811
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=600) for _ in range(4)]
    members = [await make_user() for _ in range(12)]
    nodes = [n.url for n in ha_cluster.nodes]
    day = base_time(20)
    asks = storms.plan(
        [ha_cluster.proxy.url, *nodes],
        [s.id for s in spaces],
        [m.id for m in members],
        storms.overlapping_slots(day, 16),
        askers_per_slot=3,
        tag=f"overlap-{loc.id}",
    )
    history = History()
    mark = FAULTS.mark()
    path = f"/api/v1/streams/locations/{loc.id}"
    async with storms.session() as http:
        await warm_actors(http, nodes, [s.id for s in spaces], day)
        recorders = [StreamRecorder([url], path, name=f"sse@{url}") for url in nodes]
        async with recorders[0], recorders[1], recorders[2]:
            await storms.run(history, http, asks, clients=48)
            report = await check(
                history,
                Scope(ha_db, ha_cluster.env["NATS_URL"], [loc.id], recorders),
                faults=FAULTS.since(mark),
            )
    print(f"\noverlapping storm across three nodes: {report}")
    assert report.ok, report
    answers = history.statuses()
    assert answers["201"] and answers["409"], answers  # both outcomes were exercised
    assert set(answers) <= {"201", "409"}, answers  # no fault here: every answer is final


async def test_checker_sees_double_booking_when_the_constraint_is_dropped(orm, cluster, db):
    """A deliberately broken build: without `bookings_no_overlap`, nodes that each believe
    their memory commit overlapping holds, and the checker must say so."""
    await db.execute("ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap")
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=600)
    members = [await make_user() for _ in range(6)]
    nodes = await asyncio.gather(*(asyncio.to_thread(cluster, f"broken-{i}") for i in range(2)))
    urls = [n.url for n in nodes]
    day = base_time(21)
    asks = storms.plan(
        urls, [space.id], [m.id for m in members], storms.overlapping_slots(day, 6), tag="broken"
    )
    history = History()
    async with storms.session() as http:
        await warm_actors(http, urls, [space.id], day)
        await storms.run(history, http, asks, clients=12)
    report = await check(history, Scope(db, nodes[0].env["NATS_URL"], [loc.id]), faults=Counter())
    print(f"\nstorm without the exclusion constraint: {report}")
    assert any(v.startswith("no_overlap:") for v in report.violations), report
