"""Per-member limits of a location: refused with 409 `quota_exceeded` naming the limit,
counted under a lock so racing requests on several spaces cannot all slip under it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, at, problem, slot


async def place(w: Clocked, space, who, start, minutes: int = 60):
    return await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(start, minutes), headers=who
    )


async def test_hours_per_week_counts_the_local_week(clocked):
    """Fault: the limit is not enforced, or a new week does not start afresh."""
    w = clocked
    loc = await make_location(booking_rules={"max_hours_per_week": 3})
    a, b = await make_space(loc), await make_space(loc)
    member = auth(w.settings, await make_user())
    assert (await place(w, a, member, at(1, 9), 120)).status_code == 201
    body = problem(await place(w, b, member, at(2, 9), 90), 409, "quota_exceeded")
    assert (body["limit"], body["allowed"], body["used"]) == ("max_hours_per_week", 3, 2.0)
    assert (await place(w, b, member, at(2, 9), 60)).status_code == 201
    # Monday 2030-01-14 00:00 in Rome is Sunday 23:00 UTC: the next local week
    assert (await place(w, a, member, at(6, 23), 60)).status_code == 201
    problem(await place(w, a, member, at(6, 22), 60), 409, "quota_exceeded")
    # someone else is not counted
    assert (
        await place(w, a, auth(w.settings, await make_user()), at(2, 12), 180)
    ).status_code == 201


async def test_concurrent_holds_count_unpaid_and_pending_until_they_lapse(clocked):
    w = clocked
    loc = await make_location(booking_rules={"max_concurrent_holds": 2})
    paid = await make_space(loc, hourly_price_cents=500)
    approval = await make_space(loc, requires_approval=True)
    free = await make_space(loc)
    member = auth(w.settings, await make_user())
    assert (await place(w, paid, member, at(1, 9))).json()["status"] == "held"
    assert (await place(w, approval, member, at(1, 9))).json()["status"] == "pending_approval"
    body = problem(await place(w, paid, member, at(1, 12)), 409, "quota_exceeded")
    assert body["limit"] == "max_concurrent_holds"
    # a free space's booking is no hold
    assert (await place(w, free, member, at(1, 12))).status_code == 201
    # the hold lapses: the member may hold again
    w.clock.advance(timedelta(seconds=601))
    assert (await place(w, paid, member, at(1, 14))).status_code == 201


async def test_bookings_ahead(clocked):
    w = clocked
    loc = await make_location(booking_rules={"max_bookings_ahead": 2})
    space = await make_space(loc)
    member_user = await make_user()
    member = auth(w.settings, member_user)
    first = (await place(w, space, member, at(1, 9))).json()
    assert (await place(w, space, member, at(2, 9))).status_code == 201
    body = problem(await place(w, space, member, at(3, 9)), 409, "quota_exceeded")
    assert (body["limit"], body["allowed"], body["used"]) == ("max_bookings_ahead", 2, 2)
    # a reschedule is not one more booking
    r = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings/{first['id']}/reschedule",
        json=slot(at(4, 9)),
        headers=member,
    )
    assert r.status_code == 200, r.text
    r = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings/{first['id']}/cancel", headers=member
    )
    assert r.status_code == 200
    assert (await place(w, space, member, at(3, 9))).status_code == 201


async def test_racing_requests_on_many_spaces_cannot_all_slip_under_the_limit(clocked, db):
    """Fault: each space's actor counts alone, so ten simultaneous requests on ten spaces
    (ten actors, no shared memory) all see one booking and all succeed."""
    w = clocked
    loc = await make_location(booking_rules={"max_bookings_ahead": 3})
    spaces = [await make_space(loc) for _ in range(10)]
    user = await make_user()
    member = auth(w.settings, user)
    replies = await asyncio.gather(*(place(w, s, member, at(1, 9)) for s in spaces))
    codes = sorted(r.status_code for r in replies)
    assert codes == [201] * 3 + [409] * 7
    live = await db.fetchval(
        "SELECT count(*) FROM bookings WHERE user_id = $1 AND status = 'confirmed'", user.id
    )
    assert live == 3


async def test_a_manager_sets_and_removes_limits(clocked):
    w = clocked
    loc = await make_location()
    space = await make_space(loc)
    manager = auth(w.settings, await make_user("manager", managed=(loc,)))
    member = auth(w.settings, await make_user())
    url = f"/api/v1/manage/locations/{loc.id}"
    r = await w.http.patch(url, json={"booking_rules": {"max_bookings_ahead": 1}}, headers=manager)
    assert r.status_code == 200, r.text
    assert r.json()["booking_rules"]["max_bookings_ahead"] == 1
    assert r.json()["booking_rules"]["max_hours_per_week"] is None
    assert (await place(w, space, member, at(1, 9))).status_code == 201
    problem(await place(w, space, member, at(2, 9)), 409, "quota_exceeded")
    r = await w.http.patch(url, json={"booking_rules": {"max_bookings_ahead": 0}}, headers=manager)
    assert r.json()["booking_rules"]["max_bookings_ahead"] is None
    assert (await place(w, space, member, at(2, 9))).status_code == 201


@pytest.mark.parametrize(
    "rules",
    [
        {"max_bookings_ahead": -1},
        {"max_hours_per_week": 169},
        {"max_concurrent_holds": "2"},
        {"approval_hours": 0},
        {"waitlist_offer_minutes": 0},
    ],
)
async def test_bad_limits_are_422(clocked, rules):
    w = clocked
    loc = await make_location()
    manager = auth(w.settings, await make_user("manager", managed=(loc,)))
    r = await w.http.patch(
        f"/api/v1/manage/locations/{loc.id}", json={"booking_rules": rules}, headers=manager
    )
    problem(r, 422, "validation_failed")
