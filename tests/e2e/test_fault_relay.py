"""Fault: a node killed between JetStream's ack of an outbox row and the UPDATE that marks it.

The victim reaches NATS and PostgreSQL through fault proxies. A tap on the NATS proxy sees
the first publish ack go back to the node and, before letting it through, blackholes the
node's PostgreSQL: the node gets its ack, but its mark (and COMMIT) can never arrive. Then it
is killed. Another node's relay finds the rows unmarked and publishes them again; the
`Nats-Msg-Id` header must make JetStream drop every copy, so each event is there once.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_location, make_space, make_user
from tests.faults import (
    FAULTS,
    FaultProxy,
    NatsServer,
    kill,
    postgres_upstream,
    proxied_database_url,
    tcp_upstream,
)
from tests.history import History, Scope, StreamRecorder, check, sources, storms
from tests.polling import poll

pytestmark = pytest.mark.e2e

PUBLISH_ACK = b'{"stream":"COWORK","seq":'


@pytest.fixture
def nats(tmp_path):
    server = NatsServer.start(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def proxies(database_url, nats):
    pg = FaultProxy(postgres_upstream(database_url), name="postgres").start()
    bus = FaultProxy(tcp_upstream(nats.port), name="nats").start()
    yield pg, bus
    pg.stop()
    bus.stop()


async def test_node_killed_between_ack_and_mark_publishes_each_event_once(
    orm, cluster, db, database_url, nats, proxies
):
    pg, bus = proxies
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=900) for _ in range(3)]
    members = [await make_user() for _ in range(6)]
    acked = threading.Event()

    def ack_then_lose_postgres(direction: str, chunk: bytes) -> None:
        if direction == "downstream" and PUBLISH_ACK in chunk and not acked.is_set():
            pg.blackhole()  # on the proxies' loop: in force before this ack is forwarded
            acked.set()

    bus.tap(ack_then_lose_postgres)
    victim = await asyncio.to_thread(
        cluster,
        "relay-victim",
        DATABASE_URL=proxied_database_url(database_url, pg),
        NATS_URL=f"nats://{bus.address}",
    )
    day = (datetime.now(UTC) + timedelta(days=50)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    asks = storms.plan(
        [victim.url],
        [s.id for s in spaces],
        [m.id for m in members],
        storms.overlapping_slots(day, 4),
    )
    history = History()
    mark = FAULTS.mark()
    async with storms.session() as http:
        # Few resolve attempts: the victim stops answering once its PostgreSQL is held.
        first = asyncio.create_task(storms.run(history, http, asks, clients=6, resolve_for=0))
        await poll(lambda: acked.is_set(), bool)
        in_stream = await poll(
            lambda: sources.stream_messages(nats.url, [loc.id]), lambda found: len(found) > 0
        )
        await asyncio.to_thread(kill, victim.proc)
        pg.cut()  # the dead node's sessions end: its transaction (and relay lock) roll back
        pg.heal()
        await first
        unmarked = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE location_id = $1 AND published_at IS NULL", loc.id
        )

        survivor = await asyncio.to_thread(cluster, "relay-survivor", NATS_URL=nats.url)
        later = storms.plan(
            [survivor.url],
            [s.id for s in spaces],
            [m.id for m in members],
            storms.overlapping_slots(day + timedelta(days=1), 4),
            tag="after",
        )
        await storms.run(history, http, later, clients=6)
        path = f"/api/v1/streams/locations/{loc.id}"
        async with StreamRecorder([survivor.url], path, last_event_id=0) as replayed:
            report = await check(
                history, Scope(db, nats.url, [loc.id], [replayed]), faults=FAULTS.since(mark)
            )
    print(f"\nnode killed between ack and mark ({unmarked} rows left unmarked): {report}")
    assert report.ok, report
    assert in_stream and unmarked > 0, "the kill did not land between ack and mark"
    assert "already in the stream" in survivor.log_path.read_text(), (
        "JetStream's dedupe was never needed"
    )
