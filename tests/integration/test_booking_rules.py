"""Rules through the API: DST nights, local opening hours, memory-served availability,
backpressure."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import RunningServer, start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll

ROME = ZoneInfo("Europe/Rome")
NINE_TO_SIX = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
async def clocked(settings):
    clock = ManualClock(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    running, srv = await start_server(settings, clock)
    try:
        yield running, clock
    finally:
        await stop_server(srv)


def local(y, m, d, h, mi=0) -> str:
    return datetime(y, m, d, h, mi, tzinfo=ROME).isoformat()


@pytest.mark.parametrize(
    ("now", "start", "end", "hours"),
    [
        # spring forward: 02:00 → 03:00 on 2027-03-28, so 00:00-06:00 lasts 5 hours
        (datetime(2027, 3, 20, tzinfo=UTC), (2027, 3, 28, 0), (2027, 3, 28, 6), 5),
        # fall back: 03:00 → 02:00 on 2027-10-31, so 00:00-06:00 lasts 7 hours
        (datetime(2027, 10, 20, tzinfo=UTC), (2027, 10, 31, 0), (2027, 10, 31, 6), 7),
    ],
)
async def test_dst_nights_are_priced_by_real_hours(clocked, now, start, end, hours):
    server, clock = clocked
    clock.set(now)
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1000)
    member = await make_user()
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            f"/api/v1/spaces/{space.id}/bookings",
            json={"start": local(*start), "end": local(*end)},
            headers=auth(server.settings, member),
        )
    assert r.status_code == 201, r.text
    assert r.json()["price_cents"] == hours * 1000


async def test_opening_hours_are_local_time_across_dst(clocked):
    server, clock = clocked
    clock.set(datetime(2027, 3, 20, tzinfo=UTC))
    loc = await make_location(opening_hours=NINE_TO_SIX)
    space = await make_space(loc)
    member = await make_user()
    headers = auth(server.settings, member)
    url = f"/api/v1/spaces/{space.id}/bookings"
    async with httpx.AsyncClient(base_url=server.url) as http:
        # 07:00Z is 08:00 in Rome before the change (closed) and 09:00 after it (open)
        before = await http.post(
            url,
            headers=headers,
            json={"start": "2027-03-27T07:00:00+00:00", "end": "2027-03-27T08:00:00+00:00"},
        )
        after = await http.post(
            url,
            headers=headers,
            json={"start": "2027-03-29T07:00:00+00:00", "end": "2027-03-29T08:00:00+00:00"},
        )
    assert before.status_code == 422
    assert before.json()["code"] == "outside_opening_hours"
    assert after.status_code == 201, after.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"start": "2027-03-29T09:00:00", "end": "2027-03-29T10:00:00"}, "validation_failed"),
        (
            {"start": "2027-03-29T09:07:00+02:00", "end": "2027-03-29T10:00:00+02:00"},
            "slot_granularity",
        ),
        ({"start": "2027-03-29T10:00:00+02:00", "end": "2027-03-29T10:00:00+02:00"}, None),
        (
            {"start": "2027-02-01T10:00:00+01:00", "end": "2027-02-01T11:00:00+01:00"},
            "slot_in_past",
        ),
        (
            {"start": "2027-12-01T10:00:00+01:00", "end": "2027-12-01T11:00:00+01:00"},
            "slot_too_far_ahead",
        ),
        (
            {"start": "2027-03-29T10:00:00+02:00", "end": "2027-04-08T10:00:00+02:00"},
            "slot_too_long",
        ),
    ],
)
async def test_bad_slots_are_422(clocked, body, code):
    server, _ = clocked
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(server.settings, member)
        )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code


class QueryCounter(logging.Handler):
    # The timer's look-ups of its next deadline (bookings' and reminders') follow its start
    # sweep and may land in the counted window on a slow host (they run beside the requests):
    # they are not reads of availability. The sweep itself is waited for (timer_swept).
    TIMER = ("SELECT min(deadline_at) AS at FROM bookings", "SELECT min(due_at) AS at FROM (")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith(self.TIMER):
            self.count += 1


def timer_swept(server: RunningServer) -> bool:
    """The node's timer has done its start sweep (claims, reminders and their pruning)."""
    return server.app.ctx.services.timer.status.last_sweep_at is not None


async def test_availability_of_a_warm_space_runs_no_query(settings):
    quiet = replace(settings, timer_max_sleep_seconds=3600, outbox_poll_seconds=3600)
    server, srv = await start_server(quiet)
    try:
        loc = await make_location()
        space = await make_space(loc)
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        params = {"from": start.isoformat(), "to": (start + timedelta(hours=8)).isoformat()}
        url = f"/api/v1/spaces/{space.id}/availability"
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get(url, params=params)).status_code == 200  # warms the actor
            await poll(lambda: timer_swept(server), bool)
            db_log = logging.getLogger("tortoise.db_client")
            counter, level = QueryCounter(), db_log.level
            db_log.addHandler(counter)
            db_log.setLevel(logging.DEBUG)
            try:
                for _ in range(5):
                    r = await http.get(url, params=params)
                    assert r.status_code == 200
            finally:
                db_log.removeHandler(counter)
                db_log.setLevel(level)
        assert counter.count == 0
        assert r.json()["free"] == [{"start": params["from"], "end": params["to"]}]
    finally:
        await stop_server(srv)


async def test_full_mailbox_answers_503_with_retry_after(settings):
    server, srv = await start_server(replace(settings, mailbox_size=1))
    try:
        loc = await make_location()
        space = await make_space(loc, hourly_price_cents=100)
        users = [await make_user() for _ in range(5)]
        start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"/api/v1/spaces/{space.id}/bookings",
                        json=body,
                        headers=auth(settings, users[i % 5]),
                    )
                    for i in range(60)
                )
            )
        codes = [r.status_code for r in responses]
        assert codes.count(201) == 1
        assert set(codes) <= {201, 409, 503}
        busy = [r for r in responses if r.status_code == 503]
        assert busy, "a one-message mailbox should have overflowed"
        assert all(r.headers["retry-after"] == "1" for r in busy)
        assert all(r.json()["code"] == "space_busy" for r in busy)
    finally:
        await stop_server(srv)
