"""Spaces that need approval: a request holds its slot as `pending_approval` until a manager
approves or declines it, or its deadline passes and it declines itself; the member is told
either way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, at, problem, slot


@pytest.fixture
async def world(clocked: Clocked):
    w = clocked
    w.loc = await make_location()
    w.other_loc = await make_location()
    w.paid = await make_space(w.loc, hourly_price_cents=1000, requires_approval=True)
    w.free = await make_space(w.loc, requires_approval=True)
    w.member_user = await make_user()
    w.member = auth(w.settings, w.member_user)
    w.other = auth(w.settings, await make_user())
    w.manager_user = await make_user("manager", managed=(w.loc,))
    w.manager = auth(w.settings, w.manager_user)
    w.stranger = auth(w.settings, await make_user("manager", managed=(w.other_loc,)))
    return w


async def request(w, space, start, who=None):
    r = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(start), headers=who or w.member
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending_approval"
    return r.json()


def decide_url(booking, verb):
    return f"/api/v1/manage/spaces/{booking['space_id']}/bookings/{booking['id']}/{verb}"


async def personal_events(db, user_id, event_type):
    rows = await db.fetch(
        "SELECT payload FROM outbox WHERE user_id = $1 AND type = $2 ORDER BY id",
        user_id,
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


async def test_a_request_holds_its_slot_until_approved_then_is_a_hold_to_pay(world, db):
    """Fault: a request does not hold its slot (two members get the same room approved), or
    approval confirms a paid space nobody paid for."""
    w = world
    booking = await request(w, w.paid, at(3, 9))
    assert booking["expires_at"] == (w.clock.now() + timedelta(hours=24)).isoformat()
    r = await w.http.post(
        f"/api/v1/spaces/{w.paid.id}/bookings", json=slot(at(3, 9)), headers=w.other
    )
    problem(r, 409, "slot_taken")
    listed = await w.http.get(f"/api/v1/manage/locations/{w.loc.id}/approvals", headers=w.manager)
    assert [b["id"] for b in listed.json()["items"]] == [booking["id"]]

    r = await w.http.post(decide_url(booking, "approve"), headers=w.manager)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "held"
    assert r.json()["expires_at"] == (w.clock.now() + timedelta(seconds=600)).isoformat()
    told = await personal_events(db, w.member_user.id, "booking.approved")
    assert [(e["booking_id"], e["status"]) for e in told] == [(booking["id"], "held")]
    notes = await db.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND type = 'booking.approved'",
        w.member_user.id,
    )
    assert notes == 1
    listed = await w.http.get(f"/api/v1/manage/locations/{w.loc.id}/approvals", headers=w.manager)
    assert listed.json()["items"] == []
    problem(
        await w.http.post(decide_url(booking, "approve"), headers=w.manager),
        409,
        "invalid_transition",
    )


async def test_a_free_space_request_is_booked_when_approved(world):
    w = world
    booking = await request(w, w.free, at(3, 9))
    r = await w.http.post(decide_url(booking, "approve"), headers=w.manager)
    assert (r.status_code, r.json()["status"], r.json()["expires_at"]) == (200, "confirmed", None)


async def test_a_declined_request_frees_the_slot_and_tells_only_its_member_why(world, db):
    """Fault: the manager's note reaches the public stream, or the slot stays blocked."""
    w = world
    booking = await request(w, w.paid, at(3, 9))
    r = await w.http.post(
        decide_url(booking, "decline"), json={"note": "room under repair"}, headers=w.manager
    )
    assert (r.status_code, r.json()["status"]) == (200, "declined")
    assert r.json()["cancel_reason"] == "declined_by_staff"
    told = await personal_events(db, w.member_user.id, "booking.declined")
    assert [(e["reason"], e["note"]) for e in told] == [("declined_by_staff", "room under repair")]
    public = await db.fetch(
        "SELECT payload FROM outbox WHERE user_id IS NULL AND type = 'booking.declined'"
    )
    assert len(public) == 1
    assert "note" not in json.loads(public[0]["payload"])
    r = await w.http.post(
        f"/api/v1/spaces/{w.paid.id}/bookings", json=slot(at(3, 9)), headers=w.other
    )
    assert r.status_code == 201


async def test_an_unapproved_request_declines_itself_at_its_deadline(world, db):
    """Fault: nobody decides and the slot stays blocked for ever (or is declined twice)."""
    w = world
    soon = await request(w, w.paid, w.clock.now() + timedelta(hours=5))
    later = await request(w, w.paid, at(5, 9))
    assert soon["expires_at"] == soon["start"]  # the deadline never passes the start
    w.clock.set(w.clock.now() + timedelta(hours=5) - timedelta(seconds=1))
    await w.sweep()
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", soon["id"]) == (
        "pending_approval"
    )
    w.clock.advance(timedelta(seconds=1))
    await w.sweep()
    await w.sweep()
    row = await db.fetchrow("SELECT status, cancel_reason FROM bookings WHERE id = $1", soon["id"])
    assert (row["status"], row["cancel_reason"]) == ("declined", "approval_lapsed")
    told = await personal_events(db, w.member_user.id, "booking.declined")
    assert [(e["booking_id"], e["reason"]) for e in told] == [(soon["id"], "approval_lapsed")]
    w.clock.set(w.clock.now() + timedelta(hours=24))
    await w.sweep()
    statuses = await db.fetch("SELECT status FROM bookings WHERE id = $1", later["id"])
    assert statuses[0]["status"] == "declined"
    expiries = await w.http.get(
        "/api/v1/admin/expiries", headers=auth(w.settings, await make_user("admin"))
    )
    assert "approval" in {k["kind"] for k in expiries.json()["kinds"]}


async def test_a_member_may_withdraw_their_request(world):
    w = world
    booking = await request(w, w.paid, at(3, 9))
    r = await w.http.post(
        f"/api/v1/spaces/{w.paid.id}/bookings/{booking['id']}/cancel", headers=w.member
    )
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")


async def test_who_may_decide(world, db):
    """Faults: a member approves their own request; a manager of another location, or one
    whose location was taken away, decides here; an anonymous client gets anything."""
    w = world
    booking = await request(w, w.paid, at(3, 9))
    approvals = f"/api/v1/manage/locations/{w.loc.id}/approvals"
    for verb in ("approve", "decline"):
        problem(await w.http.post(decide_url(booking, verb)), 401, "unauthorized")
        problem(await w.http.post(decide_url(booking, verb), headers=w.member), 403, "forbidden")
        problem(await w.http.post(decide_url(booking, verb), headers=w.other), 403, "forbidden")
        r = await w.http.post(decide_url(booking, verb), headers=w.stranger)
        problem(r, 404, "booking_not_found")
    problem(await w.http.get(approvals), 401, "unauthorized")
    problem(await w.http.get(approvals, headers=w.member), 403, "forbidden")
    problem(await w.http.get(approvals, headers=w.stranger), 403, "forbidden")
    # the manager loses this location: their token is still valid, their right is not
    await w.manager_user.managed_locations.clear()
    problem(
        await w.http.post(decide_url(booking, "approve"), headers=w.manager),
        404,
        "booking_not_found",
    )
    problem(await w.http.get(approvals, headers=w.manager), 403, "forbidden")
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"]) == (
        "pending_approval"
    )
    admin = auth(w.settings, await make_user("admin"))
    r = await w.http.post(decide_url(booking, "approve"), headers=admin)
    assert r.status_code == 200


async def test_bad_decisions_are_4xx(world):
    w = world
    booking = await request(w, w.paid, at(3, 9))
    r = await w.http.post(
        decide_url(booking, "decline"), json={"note": "x" * 201}, headers=w.manager
    )
    problem(r, 422, "validation_failed")
    r = await w.http.post(decide_url(booking, "decline"), json={"why": 1}, headers=w.manager)
    problem(r, 422, "validation_failed")
    r = await w.http.get(
        f"/api/v1/manage/locations/{w.loc.id}/approvals?cursor=zzzz", headers=w.manager
    )
    problem(r, 400, "invalid_cursor")
    r = await w.http.post(
        f"/api/v1/manage/spaces/{w.paid.id}/bookings/999999/approve", headers=w.manager
    )
    problem(r, 404, "booking_not_found")
