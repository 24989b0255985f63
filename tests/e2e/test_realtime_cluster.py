"""Realtime across server processes: a booking on one node reaches clients of another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.accounts.tokens import Principal, Role, TokenKind, issue
from tests.e2e.nodes import JWT_SECRET, start_together
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient, eventually

pytestmark = pytest.mark.e2e


def stream_token(user_id: int) -> str:
    return issue(
        JWT_SECRET, Principal(user_id, Role.MEMBER), TokenKind.STREAM, 300, now=datetime.now(UTC)
    )


async def test_booking_on_one_node_reaches_streams_on_the_other(orm, cluster):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=800)
    member = await make_user()
    a, b = await start_together(cluster, "rt-a", "rt-b")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    async with (
        SseClient(b.url, f"/api/v1/streams/locations/{loc.id}") as by_location,
        SseClient(b.url, f"/api/v1/streams/spaces/{space.id}") as by_space,
        SseClient(a.url, f"/api/v1/streams/spaces/{space.id}") as watcher_on_a,
        SseClient(b.url, "/api/v1/streams/me", params={"token": stream_token(member.id)}) as me,
        httpx.AsyncClient(timeout=10) as http,
    ):

        async def two_watching() -> bool:
            r = await http.get(f"{a.url}/api/v1/spaces/{space.id}/presence")
            return r.json()["watching"] == 2

        await eventually(two_watching, what="presence across processes")
        r = await http.post(
            f"{a.url}/api/v1/spaces/{space.id}/bookings",
            json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
            headers=bearer(member.id),
        )
        assert r.status_code == 201, r.text
        booking_id = r.json()["id"]
        for sse in (by_location, by_space, watcher_on_a, me):
            event = await sse.next()
            assert event.event == "booking.held"
            assert event.data["data"]["booking_id"] == booking_id
