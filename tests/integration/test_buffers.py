"""Buffers: a booking's turnaround is kept free by the exclusion constraint itself, and
shows in availability, on the floor map and in the catalogue's free filter.

The cross-node storm is in tests/e2e/test_buffer_storm.py.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, at, problem, slot

DAY = 1  # tomorrow (T0 + 1 day)


async def book(w: Clocked, space_id: int, headers, start, minutes: int = 60):
    return await w.http.post(
        f"/api/v1/spaces/{space_id}/bookings", json=slot(start, minutes), headers=headers
    )


async def test_a_booking_ending_at_ten_with_15_after_blocks_ten_to_ten_fifteen(clocked):
    """Fault: the next booking starts while the room is still being cleaned."""
    w = clocked
    space = await make_space(await make_location(), buffer_after_minutes=15)
    member, other = auth(w.settings, await make_user()), auth(w.settings, await make_user())
    first = await book(w, space.id, member, at(DAY, 9))
    assert first.status_code == 201, first.text
    problem(await book(w, space.id, other, at(DAY, 10)), 409, "slot_taken")
    # the new booking's own 15 minutes after would run into the first one
    problem(await book(w, space.id, other, at(DAY, 8)), 409, "slot_taken")
    assert (await book(w, space.id, other, at(DAY, 10, 15))).status_code == 201
    assert (await book(w, space.id, other, at(DAY, 7, 45))).status_code == 201


async def test_the_constraint_refuses_a_write_into_a_buffer_whatever_the_code(clocked, db):
    """Fault: only the actor's memory knows about buffers, so another writer (another node,
    a script) slips a booking into the turnaround. Here SQL writes past every actor."""
    w = clocked
    space = await make_space(await make_location(), buffer_after_minutes=15)
    member = await make_user()
    r = await book(w, space.id, auth(w.settings, member), at(DAY, 9))
    assert r.status_code == 201
    insert = (
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency, created_at, updated_at) SELECT space_id, location_id, user_id,"
        " $2, $3, 'confirmed', 0, 'EUR', now(), now() FROM bookings WHERE id = $1"
    )
    with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
        await db.execute(insert, r.json()["id"], at(DAY, 10, 5), at(DAY, 11))
    await db.execute(insert, r.json()["id"], at(DAY, 10, 15), at(DAY, 11))


async def test_availability_shows_the_turnaround_and_frees_only_what_fits(clocked):
    """Fault: availability offers 10:00 (inside the buffer) as free."""
    w = clocked
    space = await make_space(
        await make_location(), buffer_before_minutes=10, buffer_after_minutes=15
    )
    r = await book(w, space.id, auth(w.settings, await make_user()), at(DAY, 9))
    assert r.status_code == 201
    got = await w.http.get(
        f"/api/v1/spaces/{space.id}/availability",
        params={"from": at(DAY, 8).isoformat(), "to": at(DAY, 12).isoformat()},
    )
    assert got.status_code == 200
    busy = [(b["start"], b["end"], b["status"]) for b in got.json()["busy"]]
    assert busy == [
        (at(DAY, 8, 50).isoformat(), at(DAY, 9).isoformat(), "buffer"),
        (at(DAY, 9).isoformat(), at(DAY, 10).isoformat(), "confirmed"),
        (at(DAY, 10).isoformat(), at(DAY, 10, 15).isoformat(), "buffer"),
    ]
    # a new booking needs its own 10 before and 15 after clear of 08:50-10:15
    free = [(f["start"], f["end"]) for f in got.json()["free"]]
    assert free == [
        (at(DAY, 8).isoformat(), at(DAY, 8, 35).isoformat()),
        (at(DAY, 10, 25).isoformat(), at(DAY, 12).isoformat()),
    ]


async def test_the_floor_map_shows_a_space_in_turnaround(clocked):
    """Fault: the map calls a room being cleaned free. The member checks in: a booking
    nobody used is released at its no-show deadline (the running timer may get there first)
    and has no turnaround to show."""
    w = clocked
    loc = await make_location(booking_rules={"check_in_early_minutes": 60})
    space = await make_space(loc, buffer_after_minutes=15)
    member = auth(w.settings, await make_user())
    r = await book(w, space.id, member, w.clock.now() + timedelta(hours=1))
    assert r.status_code == 201
    checked_in = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings/{r.json()['id']}/check-in", headers=member
    )
    assert checked_in.status_code == 200, checked_in.text

    async def status_at(instant):
        w.clock.set(instant)
        body = (await w.http.get(f"/api/v1/locations/{loc.id}/floor")).json()
        return next((s["status"], s["until"]) for s in body["spaces"] if s["id"] == space.id)

    end = w.clock.now() + timedelta(hours=2)
    assert (await status_at(end - timedelta(minutes=1)))[0] == "occupied"
    assert await status_at(end + timedelta(minutes=5)) == (
        "turnaround",
        (end + timedelta(minutes=15)).isoformat(),
    )
    assert (await status_at(end + timedelta(minutes=15)))[0] == "free"


async def test_the_catalogue_free_filter_counts_buffers(clocked):
    """Fault: search lists a space as free for a window its turnaround blocks."""
    w = clocked
    loc = await make_location()
    space = await make_space(loc, buffer_after_minutes=30)
    r = await book(w, space.id, auth(w.settings, await make_user()), at(DAY, 9))
    assert r.status_code == 201

    async def free(start, end):
        got = await w.http.get(
            f"/api/v1/locations/{loc.id}/spaces",
            params={"from": start.isoformat(), "to": end.isoformat()},
        )
        assert got.status_code == 200, got.text
        return next(s["free"] for s in got.json()["items"] if s["id"] == space.id)

    assert await free(at(DAY, 10, 15), at(DAY, 11)) is False
    assert await free(at(DAY, 10, 30), at(DAY, 11)) is True


async def test_changing_buffers_applies_to_new_bookings_only(clocked, db):
    """Fault: widening a space's buffer makes existing bookings overlap (or be rewritten)."""
    w = clocked
    loc = await make_location()
    space = await make_space(loc)
    manager = auth(w.settings, await make_user("manager", managed=(loc,)))
    member = auth(w.settings, await make_user())
    assert (await book(w, space.id, member, at(DAY, 9))).status_code == 201
    assert (await book(w, space.id, member, at(DAY, 10))).status_code == 201
    r = await w.http.patch(
        f"/api/v1/manage/spaces/{space.id}",
        json={"buffer_after_minutes": 30, "requires_approval": False},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["buffer_after_minutes"], r.json()["buffer_before_minutes"]) == (30, 0)
    kept = await db.fetch(
        "SELECT buffer_after_minutes FROM bookings WHERE space_id = $1 ORDER BY starts_at",
        space.id,
    )
    assert [k["buffer_after_minutes"] for k in kept] == [0, 0]
    # the old bookings keep their (empty) buffers: 11:00 is still adjacent and bookable ...
    assert (await book(w, space.id, member, at(DAY, 11))).status_code == 201
    # ... and that new booking carries the 30 minutes after
    problem(await book(w, space.id, member, at(DAY, 12, 15)), 409, "slot_taken")
    assert (await book(w, space.id, member, at(DAY, 12, 30))).status_code == 201
    public = await w.http.get(f"/api/v1/spaces/{space.id}")
    assert public.json()["buffer_after_minutes"] == 30


@pytest.mark.parametrize("value", [-5, 1441, "15", None])
async def test_bad_buffers_are_422(clocked, value):
    w = clocked
    loc = await make_location()
    space = await make_space(loc)
    manager = auth(w.settings, await make_user("manager", managed=(loc,)))
    r = await w.http.patch(
        f"/api/v1/manage/spaces/{space.id}", json={"buffer_before_minutes": value}, headers=manager
    )
    problem(r, 422, "validation_failed")


async def test_a_used_booking_keeps_its_turnaround_until_it_is_over(clocked, db):
    """Fault: the booking completes at its end, its buffer after stops being guarded, and the
    room is booked while it is being cleaned."""
    w = clocked
    loc = await make_location(booking_rules={"check_in_early_minutes": 60})
    space = await make_space(loc, buffer_after_minutes=30)
    member = auth(w.settings, await make_user())
    start = w.clock.now() + timedelta(hours=1)
    booking = (await book(w, space.id, member, start)).json()
    r = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings/{booking['id']}/check-in", headers=member
    )
    assert (r.status_code, r.json()["status"]) == (200, "checked_in"), r.text
    w.clock.set(start + timedelta(hours=1))  # its end
    await w.sweep()
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"]) == (
        "checked_in"
    )
    other = auth(w.settings, await make_user())
    problem(
        await book(w, space.id, other, start + timedelta(hours=1, minutes=15)), 409, "slot_taken"
    )
    floor = (await w.http.get(f"/api/v1/locations/{loc.id}/floor")).json()
    assert [s["status"] for s in floor["spaces"] if s["id"] == space.id] == ["turnaround"]
    w.clock.set(start + timedelta(hours=1, minutes=30))
    await w.sweep()
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"]) == (
        "completed"
    )
    assert (
        await book(w, space.id, other, start + timedelta(hours=1, minutes=30))
    ).status_code == 201
