"""A node killed (SIGKILL) in the middle of a booking storm."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.e2e.haproxy import Reply, ha_cluster, ha_db, ha_stack, send, session  # noqa: F401
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient, SseEvent

pytestmark = pytest.mark.e2e

SPACES = 24
SLOTS = 6  # per space; each slot is wanted by two members
WORKERS = 24


class Collector:
    """Reads a location stream in the background until it ends."""

    def __init__(self, client: SseClient) -> None:
        self.client = client
        self.events: list[SseEvent] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.events.append(await self.client.next(timeout=120))

    @property
    def last_id(self) -> int:
        return max((e.id for e in self.events if e.id is not None), default=0)

    def held(self) -> set[int]:
        return {e.data["data"]["booking_id"] for e in self.events if e.event == "booking.held"}


async def test_killed_node_loses_no_booking_and_its_spaces_move(ha_cluster, ha_db):  # noqa: F811
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=700) for _ in range(SPACES)]
    members = [await make_user() for _ in range(8)]
    proxy = ha_cluster.proxy.url
    start = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
    async with session() as http:
        placement = {
            s.id: (await send(http, "GET", f"{proxy}/api/v1/spaces/{s.id}")).headers["x-served-by"]
            for s in spaces
        }
        victim = ha_cluster.node(max(set(placement.values()), key=list(placement.values()).count))
        moved = [sid for sid, name in placement.items() if name == victim.node_id]
        survivor = next(n for n in ha_cluster.nodes if n is not victim)

        work = [(s.id, n, m) for n in range(SLOTS) for s in spaces for m in (0, 1)]
        queue: asyncio.Queue = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)
        won: list[tuple[int, int, int]] = []  # (space, slot, booking id) of every 201
        under_way = asyncio.Event()  # enough holds won: time to kill

        async def hold(space_id: int, n: int, member: int) -> Reply | None:
            begins = start + timedelta(hours=n)
            body = {"start": begins.isoformat(), "end": (begins + timedelta(hours=1)).isoformat()}
            with contextlib.suppress(aiohttp.ClientError):
                return await send(
                    http,
                    "POST",
                    f"{proxy}/api/v1/spaces/{space_id}/bookings",
                    json=body,
                    headers=bearer(members[(n + member) % len(members)].id),
                )
            return None  # the connection died with the node: the client does not know

        async def worker() -> None:
            while not queue.empty():
                space_id, n, member = queue.get_nowait()
                reply = await hold(space_id, n, member)
                if reply is not None and reply.status == 201:
                    won.append((space_id, n, reply.json()["id"]))
                    if len(won) >= 40:
                        under_way.set()

        async with SseClient(victim.url, f"/api/v1/streams/locations/{loc.id}") as watching:
            before = Collector(watching)
            workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
            await asyncio.wait_for(under_way.wait(), timeout=60)
            await asyncio.to_thread(victim.stop, signal.SIGKILL)
            await asyncio.gather(*workers)
            await before.task  # the stream ended with the node

        # No double booking: one winner per slot, in the answers and in the database.
        slots = [(space_id, n) for space_id, n, _ in won]
        assert len(slots) == len(set(slots))
        doubled = await ha_db.fetchval(
            "SELECT count(*) FROM (SELECT space_id, starts_at FROM bookings "
            "WHERE location_id = $1 AND status IN ('held', 'confirmed', 'checked_in') "
            "GROUP BY 1, 2 HAVING count(*) > 1) d",
            loc.id,
        )
        assert doubled == 0

        # Every 201 reaches a subscriber that resumes on a surviving node from its last id.
        expected = {booking_id for _, _, booking_id in won}
        seen = before.held()
        async with SseClient(
            survivor.url,
            f"/api/v1/streams/locations/{loc.id}",
            headers={"Last-Event-ID": str(before.last_id)},
        ) as resumed:
            while not expected <= seen:
                event = await resumed.next(timeout=30)
                if event.event == "booking.held":
                    seen.add(event.data["data"]["booking_id"])

        # The dead node's spaces are served by the others, writes included.
        await ha_cluster.proxy.wait_states({victim.node_id: "DOWN"})
        later = start + timedelta(days=1)
        for space_id in moved:
            r = await send(
                http,
                "POST",
                f"{proxy}/api/v1/spaces/{space_id}/bookings",
                json={"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()},
                headers=bearer(members[0].id),
            )
            assert r.status == 201, r
            assert r.headers["x-served-by"] != victim.node_id
