"""Fault: NATS killed (SIGKILL) and restarted in the middle of a booking storm on two nodes.

Bookings keep committing over HTTP while NATS is gone; their events wait in the outbox, and
once NATS is back every one reaches JetStream once and every open stream once, in order.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_location, make_space, make_user
from tests.faults import FAULTS, NatsServer
from tests.faults.readiness import ReadinessWatch, ready
from tests.history import History, Scope, StreamRecorder, check, storms
from tests.polling import poll

pytestmark = pytest.mark.e2e


@pytest.fixture
def nats(tmp_path):
    server = NatsServer.start(tmp_path / "nats")
    yield server
    server.stop()


def nats_down(reading) -> bool:
    return reading.status == 503 and reading.check("nats") is False


async def test_nats_killed_and_restarted_mid_storm(orm, cluster, db, nats):
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=700) for _ in range(3)]
    members = [await make_user() for _ in range(8)]
    nodes = await asyncio.gather(
        *(asyncio.to_thread(cluster, f"nats-{i}", NATS_URL=nats.url) for i in (1, 2))
    )
    urls = [n.url for n in nodes]
    day = (datetime.now(UTC) + timedelta(days=40)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    asks = storms.plan(
        urls, [s.id for s in spaces], [m.id for m in members], storms.overlapping_slots(day, 30)
    )
    history = History()
    mark = FAULTS.mark()
    path = f"/api/v1/streams/locations/{loc.id}"
    recorders = [StreamRecorder([url], path, name=f"sse@{url}") for url in urls]
    async with (
        storms.session() as http,
        ReadinessWatch(urls) as watch,
        recorders[0],
        recorders[1],
    ):
        storm = asyncio.create_task(storms.run(history, http, asks, clients=8))
        await poll(lambda: len(history.ops), lambda n: n >= 30)

        killed_at = datetime.now(UTC)
        await asyncio.to_thread(nats.kill)
        await watch.seen(nats_down, killed_at)
        won_before = len(history.answers("hold", 201))
        await poll(  # bookings go on without NATS; their events wait in the outbox
            lambda: len(history.answers("hold", 201)),
            lambda n: n >= won_before + 5,
        )
        waiting = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE location_id = $1 AND published_at IS NULL",
            loc.id,
        )
        await asyncio.to_thread(nats.restart)
        await watch.seen(ready, datetime.now(UTC))

        await storm
        report = await check(
            history,
            Scope(db, nats.url, [loc.id], recorders),
            faults=FAULTS.since(mark),
        )
    print(f"\nNATS killed and restarted mid-storm ({waiting} events waited): {report}")
    assert report.ok, report
    assert waiting > 0, "no event had to wait for NATS"
    assert set(history.statuses()) <= {"201", "409"}  # HTTP never noticed NATS was gone
