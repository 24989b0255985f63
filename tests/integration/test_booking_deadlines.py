"""Deadlines: unpaid holds expire, no-shows are released, bookings complete — no request needed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll


async def status_of(http, settings, member, booking) -> str:
    got = await http.get(f"/api/v1/bookings/{booking['id']}", headers=auth(settings, member))
    return got.json()["status"]


def quarter(t: datetime) -> datetime:
    return t.replace(minute=(t.minute // 15) * 15, second=0, microsecond=0)


@pytest.fixture
async def short_ttl_server(settings):
    running, srv = await start_server(
        replace(settings, hold_ttl_seconds=2, timer_max_sleep_seconds=30)
    )
    try:
        yield running
    finally:
        await stop_server(srv)


async def test_unpaid_hold_expires_without_any_request(short_ttl_server):
    s = short_ttl_server.settings
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=900)
    member, other = await make_user(), await make_user()
    start = quarter(datetime.now(UTC) + timedelta(days=2))
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    async with httpx.AsyncClient(base_url=short_ttl_server.url) as http:
        r = await http.post(
            f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(s, member)
        )
        assert r.status_code == 201 and r.json()["status"] == "held"
        booking_id = r.json()["id"]

        async def status() -> str:
            got = await http.get(f"/api/v1/bookings/{booking_id}", headers=auth(s, member))
            return got.json()["status"]

        # Only the timer acts here: the test sends nothing but reads.
        await poll(status, lambda st: st == "expired")
        r = await http.post(
            f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(s, other)
        )
        assert r.status_code == 201


@pytest.fixture
async def clocked(settings):
    clock = ManualClock(quarter(datetime.now(UTC)) + timedelta(hours=1))
    running, srv = await start_server(replace(settings, timer_max_sleep_seconds=3600), clock)
    try:
        yield running, clock
    finally:
        await stop_server(srv)


async def test_no_show_is_released_at_start_plus_grace(clocked):
    server, clock = clocked
    s = server.settings
    loc = await make_location()
    space = await make_space(loc)  # free → confirmed at once
    member = await make_user()
    start = clock.now() + timedelta(hours=1)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()}
    async with httpx.AsyncClient(base_url=server.url) as http:
        booking = (
            await http.post(
                f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(s, member)
            )
        ).json()
        assert booking["status"] == "confirmed"
        clock.set(start + timedelta(seconds=s.no_show_grace_seconds) - timedelta(seconds=1))
        await server.app.ctx.services.timer.sweep()
        got = await http.get(f"/api/v1/bookings/{booking['id']}", headers=auth(s, member))
        assert got.json()["status"] == "confirmed"  # not yet
        clock.advance(timedelta(seconds=2))
        await server.app.ctx.services.timer.sweep()
        await poll(lambda: status_of(http, s, member, booking), lambda st: st == "no_show")
        # the rest of the slot is bookable again
        rest = quarter(clock.now()) + timedelta(minutes=15)
        r = await http.post(
            f"/api/v1/spaces/{space.id}/bookings",
            headers=auth(s, member),
            json={"start": rest.isoformat(), "end": (start + timedelta(hours=3)).isoformat()},
        )
        assert r.status_code == 201, r.text


async def test_checked_in_booking_completes_after_its_end(clocked):
    server, clock = clocked
    s = server.settings
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    start = clock.now() + timedelta(hours=1)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
    async with httpx.AsyncClient(base_url=server.url) as http:
        booking = (
            await http.post(
                f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(s, member)
            )
        ).json()
        url = f"/api/v1/spaces/{space.id}/bookings/{booking['id']}/check-in"
        clock.set(start - timedelta(minutes=20))
        assert (await http.post(url, headers=auth(s, member))).status_code == 409
        clock.set(start - timedelta(minutes=10))
        r = await http.post(url, headers=auth(s, member))
        assert r.status_code == 200 and r.json()["status"] == "checked_in"
        clock.set(start + timedelta(hours=2))
        await server.app.ctx.services.timer.sweep()
        await poll(lambda: status_of(http, s, member, booking), lambda st: st == "completed")


async def test_confirmed_free_booking_without_check_in_becomes_no_show_not_completed(clocked):
    server, clock = clocked
    s = server.settings
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    start = clock.now() + timedelta(hours=1)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    async with httpx.AsyncClient(base_url=server.url) as http:
        booking = (
            await http.post(
                f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(s, member)
            )
        ).json()
        clock.set(start + timedelta(hours=2))
        await server.app.ctx.services.timer.sweep()
        await poll(lambda: status_of(http, s, member, booking), lambda st: st == "no_show")
