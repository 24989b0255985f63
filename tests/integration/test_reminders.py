"""Reminders are deadlines: the timer fires "starts in N minutes" (the member's lead) and
"check-in is open" (the location's window) once per booking and start, whichever node's timer
gets there first, and only for confirmed bookings made before the instant."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from cowork.actors.reminders import ReminderDeadlines
from cowork.domain.checkin import check_in_window
from cowork.domain.notifications import reminder_at
from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, at, slot

SECOND = timedelta(seconds=1)
TYPES = ("booking.reminder", "booking.check_in_open")


@pytest.fixture
async def node(clocked: Clocked) -> Clocked:
    """The clocked node with its timer loop stopped: only the test's sweeps fire anything
    (the loop would otherwise fire what is due whenever a commit wakes it)."""
    await clocked.services.timer.stop()
    return clocked


async def reminders(db) -> list[tuple[str, int, dict]]:
    rows = await db.fetch(
        "SELECT type, user_id, payload FROM outbox WHERE type = ANY($1::text[]) ORDER BY id",
        list(TYPES),
    )
    return [(r["type"], r["user_id"], json.loads(r["payload"])) for r in rows]


async def book(c: Clocked, space, member, start, minutes: int = 15) -> dict:
    r = await c.http.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json=slot(start, minutes),
        headers=auth(c.settings, member),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_each_reminder_fires_once_at_its_instant(node, db):
    """Fails if a reminder fires early, late (not at the sweep at its instant), twice, with
    another lead than the member's, or as a public event."""
    space = await make_space(await make_location())
    member = await make_user()
    r = await node.http.put(
        "/api/v1/me/notification-preferences",
        json={"push": ["reminder", "check_in_open"], "email": [], "reminder_lead_minutes": 30},
        headers=auth(node.settings, member),
    )
    assert r.status_code == 200, r.text
    start = at(1, 10)
    booking = await book(node, space, member, start)
    assert booking["status"] == "confirmed"
    grace = timedelta(seconds=node.settings.no_show_grace_seconds)

    due = reminder_at(start, 30)
    node.clock.set(due - SECOND)
    await node.sweep()
    assert await reminders(db) == []
    node.clock.set(due)
    await node.sweep()
    await node.sweep()
    (fired,) = await reminders(db)
    assert fired[0] == "booking.reminder" and fired[1] == member.id  # personal only
    assert fired[2]["booking_id"] == booking["id"] and fired[2]["lead_minutes"] == 30

    opens = check_in_window(start, early=timedelta(minutes=15), grace=grace).start
    node.clock.set(opens - SECOND)
    await node.sweep()
    assert len(await reminders(db)) == 1
    node.clock.set(opens)
    await node.sweep()
    node.clock.set(start)
    await node.sweep()
    got = await reminders(db)
    assert [(t, u) for t, u, _ in got] == [
        ("booking.reminder", member.id),
        ("booking.check_in_open", member.id),
    ]
    assert got[1][2]["until"] == (start + grace).isoformat()
    titles = await db.fetch("SELECT type, title FROM notifications WHERE type = ANY($1)", TYPES)
    assert {r["type"] for r in titles} == set(TYPES)


async def test_two_timers_racing_fire_every_reminder_once(node, db):
    """Fails if two nodes sweeping at the same instant both fire a reminder (no lock, no
    unique mark), or if the race loses one."""
    loc = await make_location()
    spaces = [await make_space(loc) for _ in range(12)]
    members = [await make_user(), await make_user()]
    booked = [await book(node, spaces[i], members[i % 2], at(0, 8)) for i in range(12)]
    node.clock.set(at(0, 8) - timedelta(minutes=10))  # every one inside both leads
    grace = timedelta(seconds=node.settings.no_show_grace_seconds)
    timers = [
        ReminderDeadlines(lambda: node.services, grace=grace, node_id=name)
        for name in ("node-a", "node-b")
    ]
    fired = await asyncio.gather(*(t.fire() for t in timers))
    assert sum(fired) == 24
    assert await asyncio.gather(*(t.fire() for t in timers)) == [0, 0]
    got = await reminders(db)
    per = {(t, p["booking_id"]) for t, _, p in got}
    assert len(got) == len(per) == 24
    assert per == {(t, b["id"]) for t in TYPES for b in booked}


async def test_only_confirmed_bookings_made_before_the_instant_are_reminded(node, db):
    """Fails if a reminder goes to a cancelled booking, an unpaid hold, or one booked after its
    instant (the member is in the app), or if a moved booking is not reminded of its new time."""
    loc = await make_location()
    free, paid = await make_space(loc), await make_space(loc, hourly_price_cents=1000)
    member = await make_user()
    headers = auth(node.settings, member)
    now = node.clock.now()
    late = await book(node, free, member, now + timedelta(minutes=15))
    held = await book(node, paid, member, now + timedelta(minutes=45))
    assert held["status"] == "held"
    gone = await book(node, free, member, now + timedelta(minutes=60))
    r = await node.http.post(
        f"/api/v1/spaces/{free.id}/bookings/{gone['id']}/cancel", json={}, headers=headers
    )
    assert r.status_code == 200, r.text
    moved = await book(node, free, member, now + timedelta(minutes=90))

    node.clock.set(now + timedelta(minutes=75))  # inside every lead; `moved` due
    await node.sweep()
    assert {(t, p["booking_id"]) for t, _, p in await reminders(db)} == {
        ("booking.reminder", moved["id"]),
        ("booking.check_in_open", moved["id"]),
    }
    new_start = now + timedelta(hours=3)
    r = await node.http.post(
        f"/api/v1/spaces/{free.id}/bookings/{moved['id']}/reschedule",
        json=slot(new_start),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    node.clock.set(new_start - timedelta(minutes=15))
    await node.sweep()
    got = [(t, p["booking_id"], p["start"]) for t, _, p in await reminders(db)]
    assert set(got[2:]) == {
        ("booking.reminder", moved["id"], new_start.isoformat()),
        ("booking.check_in_open", moved["id"], new_start.isoformat()),
    }
    assert late["id"] not in {b for _, b, _ in got}
