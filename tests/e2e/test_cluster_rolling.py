"""A rolling restart (SIGTERM, one node at a time) under steady booking load."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.e2e.haproxy import Reply, ha_cluster, ha_db, ha_stack, send, session  # noqa: F401
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.polling import poll

pytestmark = pytest.mark.e2e

CLIENTS = 6
RETRY_DEADLINE = 30.0  # per booking: a client keeps its key until it gets an answer

# Each client books slot after slot, an hour apart: a slow run must not walk past the
# default 180-day horizon into slot_too_far_ahead.
LONG_HORIZON = {"max_days_ahead": 3650}


@dataclass
class Load:
    """Clients booking slot after slot, each with its own Idempotency-Key, retrying on failure."""

    booked: dict[str, int] = field(default_factory=dict)  # key → booking id
    node_errors: list[Reply] = field(default_factory=list)  # 5xx that did not come from HAProxy
    proxy_errors: int = 0
    retries: int = 0
    stopping: bool = False
    progress: asyncio.Event = field(default_factory=asyncio.Event)


async def client(
    http: aiohttp.ClientSession, url: str, load: Load, n: int, space_id: int, user_id: int
) -> None:
    start = (datetime.now(UTC) + timedelta(days=10 + n)).replace(minute=0, second=0, microsecond=0)
    i = 0
    while not load.stopping:
        key = f"rolling-{n}-{i}"
        begins = start + timedelta(hours=i)
        body = {"start": begins.isoformat(), "end": (begins + timedelta(hours=1)).isoformat()}
        headers = {**bearer(user_id), "Idempotency-Key": key}
        deadline = asyncio.get_running_loop().time() + RETRY_DEADLINE
        while key not in load.booked:
            assert asyncio.get_running_loop().time() < deadline, f"{key} never got an answer"
            reply = None
            with contextlib.suppress(aiohttp.ClientError):
                reply = await send(
                    http,
                    "POST",
                    f"{url}/api/v1/spaces/{space_id}/bookings",
                    json=body,
                    headers=headers,
                )
            if reply is not None and reply.status == 201:
                load.booked[key] = reply.json()["id"]
                load.progress.set()
                break
            load.retries += 1
            if reply is not None and reply.status >= 500:
                if reply.from_proxy:
                    load.proxy_errors += 1
                else:
                    load.node_errors.append(reply)
            elif reply is not None:
                # The only 4xx a retry may meet: the first attempt is still running somewhere.
                assert (reply.status, reply.code) == (409, "idempotency_key_in_flight"), reply
            await asyncio.sleep(0.05)  # a client's back-off before it retries
        i += 1


async def test_rolling_restart_loses_and_duplicates_nothing(ha_cluster, ha_db):  # noqa: F811
    loc = await make_location(booking_rules=LONG_HORIZON)
    spaces = [await make_space(loc, hourly_price_cents=1100) for _ in range(CLIENTS)]
    users = [await make_user() for _ in range(CLIENTS)]
    load = Load()
    proxy = ha_cluster.proxy
    async with session(connections=CLIENTS * 2) as http:
        clients = [
            asyncio.create_task(client(http, proxy.url, load, n, spaces[n].id, users[n].id))
            for n in range(CLIENTS)
        ]

        async def some_progress() -> None:
            """Wait until more bookings went through (the load keeps flowing)."""
            seen = len(load.booked)
            while len(load.booked) < seen + CLIENTS * 3:
                load.progress.clear()
                await asyncio.wait_for(load.progress.wait(), timeout=60)

        await some_progress()
        for node in list(ha_cluster.nodes):
            # SIGTERM: drain and exit (the watchdog bounds a stop at ~27 s; a loaded machine
            # may need most of it, and only a node still running past it has failed).
            returncode = await asyncio.to_thread(node.stop, timeout=60)
            assert returncode == 0, f"{node.node_id} did not stop cleanly:\n{node.log()}"
            await some_progress()  # served by the two others
            await asyncio.to_thread(ha_cluster.restart, node)
            await proxy.wait_states({node.node_id: "UP"})
            await some_progress()
        load.stopping = True
        await asyncio.gather(*clients)

    # A drain the client never sees: no error from a node, none from HAProxy (a write in flight
    # when its node left the pool once came back as 502), and nothing to retry at all.
    assert not load.node_errors, load.node_errors[:3]
    assert load.proxy_errors == 0
    assert load.retries == 0
    rows = await ha_db.fetch(
        "SELECT user_id, starts_at, count(*) AS n FROM bookings WHERE location_id = $1 "
        "GROUP BY 1, 2",
        loc.id,
    )
    assert all(row["n"] == 1 for row in rows)  # no duplicate
    assert len(rows) == len(load.booked)  # and nothing booked that a client does not know of
    ids = await ha_db.fetch("SELECT id FROM bookings WHERE location_id = $1", loc.id)
    assert {row["id"] for row in ids} == set(load.booked.values())  # no lost booking
    # No lost event either: every outbox row the restarts interrupted reaches the stream (the
    # relays publish in id order, so this waits for the whole backlog; later tests then start
    # on a drained outbox).
    await poll(
        lambda: ha_db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        lambda n: n == 0,
        timeout=180,
    )
