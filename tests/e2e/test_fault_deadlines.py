"""Fault: a node killed after it claimed due deadlines and before it acted on them.

The victim's PostgreSQL is slowed (every chunk 0.3 s late) so the gap between its claim (the
lease pushes `deadline_at` LEASE ahead) and its expiry transaction is wide; the test sees the
claim land in the database, blackholes the victim's PostgreSQL and kills it. No other node may
expire those holds while the lease runs, and one must expire each exactly once after it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_location, make_space, make_user
from tests.faults import FAULTS, FaultProxy, kill, postgres_upstream, proxied_database_url
from tests.history import History, Scope, check, storms
from tests.polling import poll

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TTL = "2"
# The timers' lease (30 s by default): long enough that the survivor is up and sweeping well
# before it ends, so an early expiry by the survivor would show; the test waits it out.
LEASE = timedelta(seconds=12)
NODE = {"COWORK_HOLD_TTL_SECONDS": TTL, "COWORK_TIMER_LEASE_SECONDS": str(LEASE.seconds)}


@pytest.fixture
def pg(database_url):
    proxy = FaultProxy(postgres_upstream(database_url), name="postgres").start()
    yield proxy
    proxy.stop()


async def claimed(db, ids: list[int]) -> list:
    """Held bookings whose deadline a timer pushed past expiry: claimed, not yet acted on."""
    return await db.fetch(
        "SELECT id, deadline_at FROM bookings WHERE id = ANY($1::bigint[]) AND status = 'held' "
        "AND deadline_at > expires_at + interval '10 seconds'",
        ids,
    )


async def test_node_killed_mid_claim_fires_once_after_the_lease(orm, cluster, db, database_url, pg):
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=500) for _ in range(4)]
    members = [await make_user() for _ in range(4)]
    victim = await asyncio.to_thread(
        cluster,
        "claim-victim",
        DATABASE_URL=proxied_database_url(database_url, pg),
        **NODE,
    )
    day = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    asks = storms.plan(
        [victim.url],
        [s.id for s in spaces],
        [m.id for m in members],
        [(day, day + timedelta(hours=1))],
        askers_per_slot=1,
    )
    history = History()
    mark = FAULTS.mark()
    async with storms.session() as http:
        await storms.run(history, http, asks, clients=4)
    ids = [op.answer["id"] for op in history.answers("hold", 201)]
    assert len(ids) == len(spaces)

    pg.delay(0.3)  # widen the claim-to-expiry window
    leased = await poll(lambda: claimed(db, ids), lambda rows: len(rows) > 0)
    pg.blackhole()  # whatever the victim sends next never arrives
    await asyncio.to_thread(kill, victim.proc)
    pg.cut()
    lease_ends = {r["id"]: r["deadline_at"] for r in await claimed(db, ids)}
    assert lease_ends, "the victim acted before it could be killed"

    survivor = await asyncio.to_thread(cluster, "claim-survivor", **NODE)
    await poll(
        lambda: db.fetchval(
            "SELECT count(*) FROM bookings WHERE id = ANY($1::bigint[]) AND status = 'expired'",
            ids,
        ),
        lambda n: n == len(ids),
        timeout=LEASE.total_seconds() + 30,
    )
    expired = await db.fetch(
        "SELECT (payload->>'booking_id')::bigint AS id, created_at FROM outbox "
        "WHERE type = 'booking.expired' AND user_id IS NULL AND location_id = $1",
        loc.id,
    )
    report = await check(
        history, Scope(db, survivor.env["NATS_URL"], [loc.id]), faults=FAULTS.since(mark)
    )
    print(f"\nnode killed mid-claim ({len(lease_ends)} of {len(ids)} leased): {report}")
    assert report.ok, report  # ends_once: each hold expired exactly once
    assert sorted(r["id"] for r in expired) == sorted(ids)
    for row in expired:
        if row["id"] in lease_ends:  # claimed by the dead node: only after its lease lapsed
            assert row["created_at"] >= lease_ends[row["id"]], row
    assert len(leased) > 0
