"""Fault: a node drained (SIGTERM) under load, and a stop that cannot finish.

Behind HAProxy a draining node answers /readyz 503 and keeps serving for the grace period,
so clients that cannot be replayed (writes without an Idempotency-Key) never see an error;
its SSE streams end cleanly and its websockets close with 1001 so clients resume elsewhere.
A node whose stop hangs (PostgreSQL gone silent mid-request) is ended by its watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
import websockets

from tests.e2e.haproxy import ha_cluster, ha_db, ha_stack  # noqa: F401 (fixtures)
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.faults import (
    FAULTS,
    FaultProxy,
    postgres_upstream,
    proxied_database_url,
    tcp_upstream,
    terminate,
)
from tests.faults.readiness import ReadinessWatch
from tests.history import History, Scope, check, storms
from tests.integration.test_realtime_support import SseClient, WsClient
from tests.polling import poll

pytestmark = pytest.mark.e2e

CLIENTS = 6

# Each client books slot after slot, an hour apart: a slow run must not walk past the
# default 180-day horizon into slot_too_far_ahead.
LONG_HORIZON = {"max_days_ahead": 3650}


async def book_without_keys(
    http, url: str, history: History, n: int, space_id: int, user_id: int, stop: asyncio.Event
) -> None:
    """One client booking slot after slot of its own space, with no Idempotency-Key."""
    start = (datetime.now(UTC) + timedelta(days=60 + n)).replace(minute=0, second=0, microsecond=0)
    i = 0
    while not stop.is_set():
        begins = start + timedelta(hours=i)
        await history.call(
            http,
            "hold",
            "POST",
            f"{url}/api/v1/spaces/{space_id}/bookings",
            client=n,
            json_body={
                "start": begins.isoformat(),
                "end": (begins + timedelta(hours=1)).isoformat(),
            },
            headers=bearer(user_id),
            space_id=space_id,
            user_id=user_id,
        )
        i += 1


async def read_to_end(receive) -> None:
    """Take messages until the connection ends (the error says how it ended)."""
    while True:
        await receive(timeout=60)


async def test_drain_serves_unkeyed_writes_and_ends_streams_cleanly(ha_cluster, ha_db):  # noqa: F811
    loc = await make_location(booking_rules=LONG_HORIZON)
    spaces = [await make_space(loc, hourly_price_cents=400) for _ in range(CLIENTS)]
    users = [await make_user() for _ in range(CLIENTS)]
    proxy = ha_cluster.proxy
    history = History()
    mark = FAULTS.mark()
    stop = asyncio.Event()
    async with storms.session(connections=CLIENTS * 2) as http:
        served = {}
        for s in spaces:
            async with http.get(f"{proxy.url}/api/v1/spaces/{s.id}") as r:
                served[s.id] = r.headers["x-served-by"]
        victim = ha_cluster.node(max(set(served.values()), key=list(served.values()).count))
        clients = [
            asyncio.create_task(
                book_without_keys(http, proxy.url, history, n, spaces[n].id, users[n].id, stop)
            )
            for n in range(CLIENTS)
        ]
        async with (
            SseClient(victim.url, f"/api/v1/streams/locations/{loc.id}") as sse,
            WsClient(victim.url) as ws,
            ReadinessWatch([victim.url]) as watch,
        ):
            await ws.send(type="subscribe", channel=f"location:{loc.id}")
            await ws.expect("subscribed")
            await poll(lambda: len(history.ops), lambda n: n >= 30)
            stopping_at = datetime.now(UTC)
            drained = asyncio.create_task(asyncio.to_thread(terminate, victim.proc))
            await watch.seen(
                lambda r: r.status == 503 and r.body.get("draining") is True, stopping_at
            )

            with pytest.raises(EOFError):  # the stream ends cleanly (not a reset)
                await read_to_end(sse.next)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await read_to_end(ws.recv)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert await drained == 0, victim.log()
        after = len(history.ops)
        await poll(lambda: len(history.ops), lambda n: n >= after + 30)
        stop.set()
        await asyncio.gather(*clients)
        report = await check(
            history, Scope(ha_db, ha_cluster.env["NATS_URL"], [loc.id]), faults=FAULTS.since(mark)
        )
    await asyncio.to_thread(ha_cluster.restart, victim)
    print(f"\ndrain without Idempotency-Keys: {report}")
    assert report.ok, report
    failed = [op for op in history.ops if op.status != 201]
    assert not failed, [str(op) for op in failed[:5]]  # no client saw an error, not even a 503
    assert {op.served_by for op in history.ops if op.invoked > stopping_at} - {victim.node_id}


async def test_a_stop_that_hangs_is_ended_by_the_watchdog(orm, cluster, database_url, infra):
    """PostgreSQL and NATS go silent (a node cut off from both) with a write in flight; then
    SIGTERM. Every stop step now waits on a peer that never answers; the watchdog must end
    the process past its bound (exit 70) rather than leave it running forever."""
    pg = FaultProxy(postgres_upstream(database_url), name="postgres").start()
    bus = FaultProxy(tcp_upstream(int(infra.nats_url.rsplit(":", 1)[1])), name="nats").start()
    try:
        loc = await make_location()
        space = await make_space(loc, hourly_price_cents=400)
        member = await make_user()
        node = await asyncio.to_thread(
            cluster,
            "watchdog",
            DATABASE_URL=proxied_database_url(database_url, pg),
            NATS_URL=f"nats://{bus.address}",
            # The watchdog's bound is drain + shutdown timeout + margin (21 s by default): 3 s
            # here, so the test waits 3 s of a hung stop instead of 21.
            COWORK_DRAIN_TIMEOUT_SECONDS="1",
            COWORK_SHUTDOWN_TIMEOUT_SECONDS="1",
            COWORK_STOP_WATCHDOG_MARGIN_SECONDS="1",
            COWORK_ENV="dev",  # the watchdog is armed outside tests (in-process servers)
        )
        day = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
        queried = threading.Event()
        pg.tap(lambda direction, chunk: queried.set() if direction == "upstream" else None)
        async with storms.session() as http:
            pg.blackhole()  # PostgreSQL goes silent: the next request never finishes
            bus.blackhole()  # and so does NATS
            queried.clear()
            stuck = asyncio.create_task(
                http.post(
                    f"{node.url}/api/v1/spaces/{space.id}/bookings",
                    json={"start": day.isoformat(), "end": (day + timedelta(hours=1)).isoformat()},
                    headers=bearer(member.id),
                )
            )
            await poll(lambda: queried.is_set(), bool)  # it reached the database
            node.proc.send_signal(signal.SIGTERM)
            FAULTS.record("process:terminate")
            code = await poll(lambda: node.proc.poll(), lambda c: c is not None, timeout=90)
            stuck.cancel()
            with contextlib.suppress(BaseException):
                await stuck
    finally:
        pg.stop()
        bus.stop()
    assert code == 70, node.log()
    assert "stop did not finish" in node.log_path.read_text()
