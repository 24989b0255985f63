"""Waitlist with timed offers: when a slot frees, the first member waiting (FIFO) gets it
held for the location's offer minutes; decline or timeout passes it to the next.

The 100-member race and the node kill are in tests/e2e/test_waitlist_race.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, at, problem, slot

NINE = at(2, 9)


@pytest.fixture
async def world(clocked: Clocked):
    w = clocked
    w.loc = await make_location()
    w.space = await make_space(w.loc)  # free: an offer must still be taken
    w.holder_user = await make_user()
    w.holder = auth(w.settings, w.holder_user)
    w.users = [await make_user() for _ in range(3)]
    w.members = [auth(w.settings, u) for u in w.users]
    return w


async def book(w, who, start=NINE, minutes=60, space=None):
    r = await w.http.post(
        f"/api/v1/spaces/{(space or w.space).id}/bookings", json=slot(start, minutes), headers=who
    )
    assert r.status_code == 201, r.text
    return r.json()


async def join(w, who, start=NINE, minutes=60, space=None):
    return await w.http.post(
        f"/api/v1/spaces/{(space or w.space).id}/waitlist", json=slot(start, minutes), headers=who
    )


async def cancel(w, booking, who):
    r = await w.http.post(
        f"/api/v1/spaces/{booking['space_id']}/bookings/{booking['id']}/cancel", headers=who
    )
    assert r.status_code == 200, r.text


async def mine(w, who):
    r = await w.http.get("/api/v1/me/waitlist", headers=who)
    assert r.status_code == 200
    return r.json()["items"]


async def offers(db, user_id):
    rows = await db.fetch(
        "SELECT payload FROM outbox WHERE user_id = $1 AND type = 'waitlist.offer'", user_id
    )
    return [json.loads(r["payload"]) for r in rows]


async def test_the_first_waiting_member_gets_the_freed_slot_held_for_ten_minutes(world, db):
    """Fault: the slot goes to whoever asks first after the cancel, not to the queue; or to
    the second in line; or the offer is not exclusive."""
    w = world
    held = await book(w, w.holder)
    for who in w.members:
        r = await join(w, who)
        assert (r.status_code, r.json()["status"]) == (201, "waiting"), r.text
    await cancel(w, held, w.holder)

    first, second = (await mine(w, w.members[0]))[0], (await mine(w, w.members[1]))[0]
    assert first["status"] == "offered"
    assert first["offer_expires_at"] == (w.clock.now() + timedelta(minutes=10)).isoformat()
    assert second["status"] == "waiting"
    offer = await w.http.get(f"/api/v1/bookings/{first['booking_id']}", headers=w.members[0])
    assert (offer.json()["status"], offer.json()["user_id"]) == ("held", w.users[0].id)
    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/bookings", json=slot(NINE), headers=w.members[2]
    )
    problem(r, 409, "slot_taken")
    told = await offers(db, w.users[0].id)
    assert [(o["booking_id"], o["until"], o["waitlist_id"]) for o in told] == [
        (first["booking_id"], first["offer_expires_at"], first["id"])
    ]
    assert await offers(db, w.users[1].id) == []
    public = await db.fetch(
        "SELECT payload FROM outbox WHERE user_id IS NULL AND type = 'booking.held'"
    )
    assert [json.loads(p["payload"])["booking_id"] for p in public] == [first["booking_id"]]
    assert "user_id" not in json.loads(public[0]["payload"])

    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/waitlist/{first['id']}/accept", headers=w.members[0]
    )
    assert (r.status_code, r.json()["status"]) == (200, "confirmed")
    assert (await mine(w, w.members[0]))[0]["status"] == "booked"


async def test_an_offer_that_times_out_passes_to_the_next_member(world, db):
    """Fault: an ignored offer keeps the slot, or the next member is never asked."""
    w = world
    held = await book(w, w.holder)
    for who in w.members[:2]:
        assert (await join(w, who)).status_code == 201
    await cancel(w, held, w.holder)
    w.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    await w.sweep()
    assert (await mine(w, w.members[0]))[0]["status"] == "offered"
    w.clock.advance(timedelta(seconds=1))
    await w.sweep()
    first, second = (await mine(w, w.members[0]))[0], (await mine(w, w.members[1]))[0]
    assert (first["status"], second["status"]) == ("passed", "offered")
    assert len(await offers(db, w.users[1].id)) == 1
    # the second lapses too, and nobody is left: the slot is free again
    w.clock.advance(timedelta(minutes=10))
    await w.sweep()
    assert (await mine(w, w.members[1]))[0]["status"] == "passed"
    assert (await book(w, w.members[2]))["status"] == "confirmed"


async def test_an_entry_only_partly_freed_is_not_offered(world):
    """Fault: a member waiting for 09:00-11:00 is offered 09:00-10:00."""
    w = world
    a = await book(w, w.holder, NINE)
    b = await book(w, w.holder, NINE + timedelta(hours=1))
    assert (await join(w, w.members[0], NINE, 120)).status_code == 201
    await cancel(w, a, w.holder)
    assert (await mine(w, w.members[0]))[0]["status"] == "waiting"
    await cancel(w, b, w.holder)
    assert (await mine(w, w.members[0]))[0]["status"] == "offered"


async def test_leaving_with_an_open_offer_passes_it_on(world):
    w = world
    held = await book(w, w.holder)
    for who in w.members[:2]:
        assert (await join(w, who)).status_code == 201
    await cancel(w, held, w.holder)
    entry = (await mine(w, w.members[0]))[0]
    r = await w.http.delete(
        f"/api/v1/spaces/{w.space.id}/waitlist/{entry['id']}", headers=w.members[0]
    )
    assert r.status_code == 204
    assert (await mine(w, w.members[0]))[0]["status"] == "left"
    assert (await mine(w, w.members[1]))[0]["status"] == "offered"
    offered = await w.http.get(f"/api/v1/bookings/{entry['booking_id']}", headers=w.members[0])
    assert offered.json()["cancel_reason"] == "offer_declined"


async def test_a_hold_that_expires_goes_to_the_queue(world):
    """The timer's expiry frees the slot like a cancel does."""
    w = world
    paid = await make_space(w.loc, hourly_price_cents=800)
    await book(w, w.holder, space=paid)
    assert (await join(w, w.members[0], space=paid)).status_code == 201
    w.clock.advance(timedelta(seconds=601))
    await w.sweep()
    entry = (await mine(w, w.members[0]))[0]
    assert entry["status"] == "offered"
    r = await w.http.post(
        f"/api/v1/spaces/{paid.id}/waitlist/{entry['id']}/accept", headers=w.members[0]
    )
    body = problem(r, 409, "offer_needs_payment")
    assert body["booking_id"] == entry["booking_id"]


async def test_an_offer_in_a_space_needing_approval_is_a_request(world):
    w = world
    space = await make_space(w.loc, requires_approval=True)
    await book(w, w.holder, space=space)  # pending_approval, holds its slot
    assert (await join(w, w.members[0], space=space)).status_code == 201
    manager = auth(w.settings, await make_user("manager", managed=(w.loc,)))
    pending = await w.http.get(f"/api/v1/manage/locations/{w.loc.id}/approvals", headers=manager)
    first = pending.json()["items"][0]
    r = await w.http.post(
        f"/api/v1/manage/spaces/{space.id}/bookings/{first['id']}/decline", headers=manager
    )
    assert r.status_code == 200
    entry = (await mine(w, w.members[0]))[0]
    assert entry["status"] == "offered"
    offer = await w.http.get(f"/api/v1/bookings/{entry['booking_id']}", headers=w.members[0])
    assert offer.json()["status"] == "pending_approval"


async def test_a_member_at_a_limit_is_skipped_and_keeps_waiting(world):
    w = world
    loc = await make_location(booking_rules={"max_bookings_ahead": 1})
    space = await make_space(loc)
    held = await book(w, w.holder, space=space)
    await book(w, w.members[0], NINE + timedelta(days=1), space=space)
    for who in w.members[:2]:
        assert (await join(w, who, space=space)).status_code == 201
    await cancel(w, held, w.holder)
    assert (await mine(w, w.members[0]))[0]["status"] == "waiting"
    assert (await mine(w, w.members[1]))[0]["status"] == "offered"


async def test_joining_refusals(world):
    w = world
    problem(await join(w, w.members[0]), 409, "slot_available")
    await book(w, w.holder)
    assert (await join(w, w.members[0])).status_code == 201
    problem(await join(w, w.members[0]), 409, "already_waiting")
    problem(await join(w, w.members[0], w.clock.now() - timedelta(hours=1)), 422, "slot_in_past")
    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/waitlist",
        json={"start": "2030-01-09T09:00:00", "end": "2030-01-09T10:00:00"},
        headers=w.members[0],
    )
    problem(r, 422, "validation_failed")
    r = await w.http.post("/api/v1/spaces/999999/waitlist", json=slot(NINE), headers=w.members[1])
    assert r.status_code == 404


async def test_nobody_else_may_touch_an_entry(world):
    """Faults: a hostile member leaves or takes someone else's place; an anonymous client
    reads or writes anything."""
    w = world
    await book(w, w.holder)
    entry = (await join(w, w.members[0])).json()
    url = f"/api/v1/spaces/{w.space.id}/waitlist/{entry['id']}"
    for who in (w.members[1], w.holder):
        problem(await w.http.delete(url, headers=who), 404, "waitlist_entry_not_found")
        problem(await w.http.post(f"{url}/accept", headers=who), 404, "waitlist_entry_not_found")
        assert await mine(w, who) == []
    # the same entry through another space's path is not found either
    other = await make_space(w.loc)
    r = await w.http.delete(
        f"/api/v1/spaces/{other.id}/waitlist/{entry['id']}", headers=w.members[0]
    )
    problem(r, 404, "waitlist_entry_not_found")
    problem(
        await w.http.post(f"/api/v1/spaces/{w.space.id}/waitlist", json=slot(NINE)),
        401,
        "unauthorized",
    )
    problem(await w.http.delete(url), 401, "unauthorized")
    problem(await w.http.post(f"{url}/accept"), 401, "unauthorized")
    problem(await w.http.get("/api/v1/me/waitlist"), 401, "unauthorized")
    problem(await w.http.post(f"{url}/accept", headers=w.members[0]), 409, "offer_not_open")
    assert (await mine(w, w.members[0]))[0]["status"] == "waiting"
    # staff of another location, and a manager whose location was taken away, see nothing
    stranger = auth(w.settings, await make_user("manager", managed=(await make_location(),)))
    problem(await w.http.delete(url, headers=stranger), 404, "waitlist_entry_not_found")
    removed_user = await make_user("manager", managed=(w.loc,))
    removed = auth(w.settings, removed_user)
    await removed_user.managed_locations.clear()
    problem(await w.http.delete(url, headers=removed), 404, "waitlist_entry_not_found")
    assert (await mine(w, w.members[0]))[0]["status"] == "waiting"


async def test_my_waitlist_pages_newest_first(world):
    w = world
    for hour in (9, 11, 13):
        await book(w, w.holder, at(2, hour))
        assert (await join(w, w.members[0], at(2, hour))).status_code == 201
    r = await w.http.get("/api/v1/me/waitlist?limit=2", headers=w.members[0])
    page = r.json()
    assert [e["start"] for e in page["items"]] == [at(2, 13).isoformat(), at(2, 11).isoformat()]
    r = await w.http.get(
        f"/api/v1/me/waitlist?limit=2&cursor={page['next_cursor']}", headers=w.members[0]
    )
    assert [e["start"] for e in r.json()["items"]] == [at(2, 9).isoformat()]
    assert r.json()["next_cursor"] is None
    # an entry whose slot began while waiting has lapsed
    w.clock.set(at(2, 9))
    assert [e["status"] for e in await mine(w, w.members[0])] == ["waiting", "waiting", "lapsed"]


async def test_ids_no_column_can_hold_are_not_found_and_crash_no_actor(world):
    """Fault: an id beyond bigint reaches the space's actor, whose query fails: a 500 and a
    restarted actor for whatever a client typed."""
    w = world
    big = 2**64
    manager = auth(w.settings, await make_user("manager", managed=(w.loc,)))
    cases = [
        ("DELETE", f"/api/v1/spaces/{w.space.id}/waitlist/{big}", w.members[0], None),
        ("POST", f"/api/v1/spaces/{w.space.id}/waitlist/{big}/accept", w.members[0], None),
        ("GET", f"/api/v1/series/{big}", w.members[0], None),
        (
            "POST",
            f"/api/v1/spaces/{w.space.id}/series/{big}/cancel",
            w.members[0],
            {"scope": "all"},
        ),
        ("POST", f"/api/v1/manage/spaces/{w.space.id}/bookings/{big}/approve", manager, None),
        ("POST", f"/api/v1/manage/spaces/{w.space.id}/bookings/{big}/decline", manager, None),
        ("POST", f"/api/v1/spaces/{w.space.id}/bookings/{big}/cancel", w.members[0], None),
    ]
    for method, path, who, body in cases:
        r = await w.http.request(method, path, headers=who, json=body)
        assert r.status_code == 404, (path, r.text)
    assert w.services.registry.crashes == 0
