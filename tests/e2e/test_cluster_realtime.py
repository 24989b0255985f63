"""Realtime across the cluster: a stream on one node carries every node's writes, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.haproxy import ha_cluster, ha_stack  # noqa: F401 (fixtures)
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient

pytestmark = pytest.mark.e2e

WRITES = 12


async def test_a_stream_on_one_node_gets_the_other_nodes_writes_in_order(ha_cluster):  # noqa: F811
    watcher, *writers = ha_cluster.nodes
    loc = await make_location()
    spaces = [await make_space(loc, hourly_price_cents=900) for _ in range(3)]
    member = await make_user()
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booked: list[int] = []
    async with (
        SseClient(watcher.url, f"/api/v1/streams/locations/{loc.id}") as stream,
        httpx.AsyncClient(timeout=10) as http,
    ):
        for i in range(WRITES):  # one after the other, alternating between the other nodes
            begins = start + timedelta(hours=i)
            ends = begins + timedelta(hours=1)
            r = await http.post(
                f"{writers[i % 2].url}/api/v1/spaces/{spaces[i % 3].id}/bookings",
                json={"start": begins.isoformat(), "end": ends.isoformat()},
                headers=bearer(member.id),
            )
            assert r.status_code == 201, r.text
            booked.append(r.json()["id"])
        events = [await stream.next() for _ in range(WRITES)]
    assert [e.event for e in events] == ["booking.held"] * WRITES
    assert [e.data["data"]["booking_id"] for e in events] == booked
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == WRITES
