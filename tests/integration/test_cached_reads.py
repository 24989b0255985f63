"""Cached reads: availability per schedule version, floor and catalogue per change epoch.

Each answer is reused while nothing it depends on moved, carries an ETag, and is a 304 for a
client that already has it; every kind of change must show at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user


def quarter(t: datetime) -> datetime:
    return t.replace(minute=(t.minute // 15) * 15, second=0, microsecond=0)


@pytest.fixture
async def clocked(settings):
    clock = ManualClock(quarter(datetime.now(UTC)))
    running, srv = await start_server(replace(settings, timer_max_sleep_seconds=3600), clock)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=15) as http:
            yield running, clock, http
    finally:
        await stop_server(srv)


@pytest.fixture
async def place():
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1000)
    return loc, space, await make_user()


def _window(start: datetime, hours: int = 4) -> dict[str, str]:
    return {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (start + timedelta(hours=hours)).isoformat(),
    }


async def test_availability_etag_304_and_a_new_answer_after_a_hold(clocked, place):
    """Fault: a cached answer outlives the write that changed the schedule, or no 304."""
    server, clock, http = clocked
    _, space, member = place
    start = quarter(clock.now()) + timedelta(days=2)
    url = f"/api/v1/spaces/{space.id}/availability"
    first = await http.get(url, params=_window(start))
    assert first.status_code == 200 and first.json()["busy"] == []
    etag = first.headers["etag"]
    again = await http.get(url, params=_window(start))
    assert again.headers["etag"] == etag and again.content == first.content
    r = await http.get(url, params=_window(start), headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""

    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(server.settings, member)
    )
    assert r.status_code == 201, r.text
    after = await http.get(url, params=_window(start), headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert [b["status"] for b in after.json()["busy"]] == ["held"]


async def test_availability_changes_when_a_hold_lapses_without_any_write(clocked, place):
    """Fault: a cached answer ignores time (a lapsed hold still shows busy)."""
    server, clock, http = clocked
    _, space, member = place
    start = quarter(clock.now()) + timedelta(days=2)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings", json=body, headers=auth(server.settings, member)
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/spaces/{space.id}/availability"
    assert len((await http.get(url, params=_window(start))).json()["busy"]) == 1
    clock.advance(timedelta(seconds=server.settings.hold_ttl_seconds + 1))
    assert (await http.get(url, params=_window(start))).json()["busy"] == []


async def test_availability_shows_new_opening_hours_at_once(clocked, place):
    """Fault: reads that skip the mailbox keep serving rules a manager just changed."""
    server, clock, http = clocked
    loc, space, _ = place
    day = (clock.now() + timedelta(days=3)).date()
    window = {
        "from": datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat(),
        "to": datetime(day.year, day.month, day.day, 23, tzinfo=UTC).isoformat(),
    }
    url = f"/api/v1/spaces/{space.id}/availability"
    assert (await http.get(url, params=window)).json()["free"] != []
    admin = auth(server.settings, await make_user("admin"))
    closure = {"start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "works"}
    r = await http.post(f"/api/v1/manage/locations/{loc.id}/closures", json=closure, headers=admin)
    assert r.status_code == 201, r.text
    assert (await http.get(url, params=window)).json()["free"] == []


async def test_floor_and_catalogue_are_reused_until_a_change(clocked, place):
    """Fault: the floor keeps an old snapshot after a commit, or a catalogue edit is unseen."""
    server, clock, http = clocked
    loc, space, member = place
    free_space = await make_space(loc)  # price 0: confirmed at once
    floor = f"/api/v1/locations/{loc.id}/floor"
    first = await http.get(floor)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert (await http.get(floor, headers={"If-None-Match": etag})).status_code == 304

    start = quarter(clock.now()) + timedelta(minutes=15)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    r = await http.post(
        f"/api/v1/spaces/{free_space.id}/bookings",
        json=body,
        headers=auth(server.settings, member),
    )
    assert r.status_code == 201, r.text
    # The same instant (the cache's age is no excuse): the commit alone must show.
    now = await http.get(floor, headers={"If-None-Match": etag})
    assert now.status_code == 200
    upcoming = {s["id"]: s["next_start"] for s in now.json()["spaces"]}
    assert datetime.fromisoformat(upcoming[free_space.id]) == start
    clock.advance(timedelta(minutes=16))  # inside the booking's slot
    changed = await http.get(floor, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    status = {s["id"]: s["status"] for s in changed.json()["spaces"]}
    assert status == {space.id: "free", free_space.id: "booked"}

    url = f"/api/v1/spaces/{space.id}"
    before = await http.get(url)
    admin = auth(server.settings, await make_user("admin"))
    r = await http.patch(f"/api/v1/manage/spaces/{space.id}", json={"name": "Nook"}, headers=admin)
    assert r.status_code == 200, r.text
    after = await http.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["name"] == "Nook"
