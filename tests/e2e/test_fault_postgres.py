"""Fault: PostgreSQL paused, then cut and down, in the middle of a booking storm on two nodes.

The nodes reach PostgreSQL through a FaultProxy. While it is away they must answer 503 with
Retry-After (never a 500), say so on /readyz, write nothing by halves, and take every request
again once it is back; the storm's clients retry with their Idempotency-Key.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_location, make_space, make_user
from tests.faults import FAULTS, FaultProxy, postgres_upstream, proxied_database_url
from tests.faults.readiness import ReadinessWatch, down_for_database, ready
from tests.history import History, Scope, StreamRecorder, check, storms
from tests.polling import poll

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def pg(database_url):
    proxy = FaultProxy(postgres_upstream(database_url), name="postgres").start()
    yield proxy
    proxy.stop()


async def ops_done(history: History, at_least: int) -> None:
    await poll(lambda: len(history.ops), lambda n: n >= at_least, timeout=60)


async def outage_seen(watch: ReadinessWatch) -> datetime:
    """Every node said 503 (database) on /readyz, then 200 again; when the last one did."""
    down = await watch.seen(down_for_database, datetime.now(UTC))
    back = await watch.seen(ready, max(r.at for r in down.values()))
    return max(r.at for r in back.values())


async def test_postgres_paused_then_cut_mid_storm(orm, cluster, db, database_url, pg):
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=800) for _ in range(3)]
    members = [await make_user() for _ in range(8)]
    env = {"DATABASE_URL": proxied_database_url(database_url, pg)}
    nodes = await asyncio.gather(*(asyncio.to_thread(cluster, f"pg-{i}", **env) for i in (1, 2)))
    urls = [n.url for n in nodes]
    day = (datetime.now(UTC) + timedelta(days=30)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    asks = storms.plan(
        urls,
        [s.id for s in spaces],
        [m.id for m in members],
        storms.overlapping_slots(day, 30),
        tag="pg",
    )
    history = History()
    mark = FAULTS.mark()
    path = f"/api/v1/streams/locations/{loc.id}"
    recorders = [StreamRecorder([url], path, name=f"sse@{url}") for url in urls]
    async with (
        storms.session(timeout=90) as http,
        ReadinessWatch(urls) as watch,
        recorders[0],
        recorders[1],
    ):
        storm = asyncio.create_task(storms.run(history, http, asks, clients=12, resolve_for=15))
        await ops_done(history, 40)

        pg.blackhole(seconds=5)  # PostgreSQL paused: every byte waits 5 s
        await outage_seen(watch)  # and it heals by itself after 5 s

        await ops_done(history, len(history.ops) + 40)
        pg.refuse(seconds=3)  # cut every connection; down for 3 s
        healed_at = await outage_seen(watch)

        await storm
        report = await check(
            history,
            Scope(db, nodes[0].env["NATS_URL"], [loc.id], recorders),
            faults=FAULTS.since(mark),
        )
    print(f"\npostgres paused 5 s, then cut and down 3 s: {report}")
    assert report.ok, report
    unavailable = [op for op in history.ops if op.status is not None and op.status >= 500]
    assert unavailable, "the outage was never felt by a client"
    for op in unavailable:
        assert op.status == 503 and op.headers.get("retry-after"), op
        assert op.code in ("database_unavailable", "node_unavailable", "space_busy"), op
    assert all(op.status is not None for op in history.ops)  # a node always answered
    resumed = [op for op in history.ops if op.status == 201 and op.invoked > healed_at]
    assert resumed, "no hold was won after PostgreSQL came back"
