"""Recurring series: occurrences keep their local time across DST, all_or_nothing books all or
none, book_available says what it could not book, cancel one / following / all.

Refunds per occurrence (localstripe) are in test_series_refunds.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.factories import auth, make_location, make_space, make_user
from tests.scheduling_support import *  # noqa: F403
from tests.scheduling_support import Clocked, problem, slot

ROME = ZoneInfo("Europe/Rome")


def series(rule: str, first: str, mode: str = "all_or_nothing", start="09:00", minutes=60):
    return {
        "rrule": rule,
        "first_date": first,
        "start_time": start,
        "duration_minutes": minutes,
        "mode": mode,
    }


async def create(w: Clocked, space, who, body):
    return await w.http.post(f"/api/v1/spaces/{space.id}/series", json=body, headers=who)


def local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ROME).strftime("%Y-%m-%d %H:%M %z")


async def test_series_across_spring_forward_and_fall_back_keep_nine_local(clocked, db):
    """Fault: occurrences computed in UTC drift to 10:00 (spring) or 08:00 (autumn) local."""
    w = clocked
    space = await make_space(await make_location())
    member = auth(w.settings, await make_user())
    w.clock.set(datetime(2030, 3, 20, tzinfo=UTC))
    r = await create(w, space, member, series("FREQ=WEEKLY;BYDAY=MO;COUNT=3", "2030-03-25"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert [local(o["start"]) for o in body["occurrences"]] == [
        "2030-03-25 09:00 +0100",
        "2030-04-01 09:00 +0200",
        "2030-04-08 09:00 +0200",
    ]
    assert {o["outcome"] for o in body["occurrences"]} == {"booked"}
    assert {o["booking"]["series_id"] for o in body["occurrences"]} == {body["id"]}
    assert r.headers["location"] == f"/api/v1/series/{body['id']}"

    w.clock.set(datetime(2030, 10, 15, tzinfo=UTC))
    r = await create(w, space, member, series("FREQ=WEEKLY;BYDAY=MO,FR;COUNT=3", "2030-10-24"))
    assert r.status_code == 201, r.text
    assert [local(o["start"]) for o in r.json()["occurrences"]] == [
        "2030-10-25 09:00 +0200",
        "2030-10-28 09:00 +0100",
        "2030-11-01 09:00 +0100",
    ]
    stored = await db.fetch(
        "SELECT starts_at FROM bookings WHERE series_id = $1 ORDER BY starts_at", r.json()["id"]
    )
    assert [s["starts_at"].hour for s in stored] == [7, 8, 8]  # UTC moves, local does not


async def test_all_or_nothing_with_one_taken_occurrence_books_none(clocked, db):
    """Fault: a half-booked series the member did not ask for."""
    w = clocked
    space = await make_space(await make_location(), hourly_price_cents=500)
    member_user = await make_user()
    member = auth(w.settings, member_user)
    taken = await w.http.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json=slot(datetime(2030, 1, 15, 8, tzinfo=UTC)),  # Tuesday 09:00 in Rome
        headers=auth(w.settings, await make_user()),
    )
    assert taken.status_code == 201
    r = await create(w, space, member, series("FREQ=WEEKLY;BYDAY=TU;COUNT=3", "2030-01-08"))
    body = problem(r, 409, "series_not_booked")
    assert [o["outcome"] for o in body["occurrences"]] == ["available", "slot_taken", "available"]
    assert (
        await db.fetchval("SELECT count(*) FROM bookings WHERE user_id = $1", member_user.id) == 0
    )
    assert await db.fetchval("SELECT count(*) FROM booking_series") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE user_id = $1", member_user.id) == 0

    r = await create(
        w, space, member, series("FREQ=WEEKLY;BYDAY=TU;COUNT=3", "2030-01-08", "book_available")
    )
    assert r.status_code == 201, r.text
    occurrences = r.json()["occurrences"]
    assert [o["outcome"] for o in occurrences] == ["booked", "slot_taken", "booked"]
    assert [o["booking"]["status"] if o["booking"] else None for o in occurrences] == [
        "held",
        None,
        "held",
    ]
    # the member hears of the series once, the world of each slot
    personal = await db.fetch(
        "SELECT type FROM outbox WHERE user_id = $1 ORDER BY id", member_user.id
    )
    assert [p["type"] for p in personal] == ["series.created"]
    public = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE user_id IS NULL AND type = 'booking.held'"
    )
    assert public == 3  # the other member's hold and the two occurrences


async def test_a_series_respects_the_member_limits(clocked):
    w = clocked
    space = await make_space(await make_location(booking_rules={"max_bookings_ahead": 2}))
    member = auth(w.settings, await make_user())
    r = await create(w, space, member, series("FREQ=DAILY;COUNT=3", "2030-01-08"))
    assert problem(r, 409, "quota_exceeded")["limit"] == "max_bookings_ahead"
    r = await create(w, space, member, series("FREQ=DAILY;COUNT=3", "2030-01-08", "book_available"))
    assert [o["outcome"] for o in r.json()["occurrences"]] == [
        "booked",
        "booked",
        "quota_exceeded",
    ]


async def test_my_bookings_list_names_each_occurrences_series(clocked):
    """Fault: GET /bookings answers `series_id: null` (and no buffers) for occurrences, so a
    client cannot group a series (My bookings showed each occurrence as a lone booking)."""
    w = clocked
    space = await make_space(await make_location(), buffer_after_minutes=15)
    member = auth(w.settings, await make_user())
    made = (await create(w, space, member, series("FREQ=DAILY;COUNT=2", "2030-01-08"))).json()
    listed = (await w.http.get("/api/v1/bookings", headers=member)).json()["items"]
    assert {b["series_id"] for b in listed} == {made["id"]}
    assert len(listed) == 2


async def test_cancel_one_following_and_all(clocked, db):
    w = clocked
    space = await make_space(await make_location())
    member_user = await make_user()
    member = auth(w.settings, member_user)
    made = (await create(w, space, member, series("FREQ=DAILY;COUNT=5", "2030-01-08"))).json()
    ids = [o["booking"]["id"] for o in made["occurrences"]]
    url = f"/api/v1/spaces/{space.id}/series/{made['id']}/cancel"

    r = await w.http.post(url, json={"scope": "one", "booking_id": ids[1]}, headers=member)
    assert [c["booking_id"] for c in r.json()["cancelled"]] == [ids[1]]
    r = await w.http.post(url, json={"scope": "following", "booking_id": ids[3]}, headers=member)
    assert [c["booking_id"] for c in r.json()["cancelled"]] == [ids[3], ids[4]]
    problem(
        await w.http.post(url, json={"scope": "one", "booking_id": ids[3]}, headers=member),
        409,
        "invalid_transition",
    )
    r = await w.http.post(url, json={"scope": "all", "reason": "change_of_plans"}, headers=member)
    assert [c["booking_id"] for c in r.json()["cancelled"]] == [ids[0], ids[2]]
    detail = (await w.http.get(f"/api/v1/series/{made['id']}", headers=member)).json()
    assert [o["booking"]["status"] for o in detail["occurrences"]] == ["cancelled"] * 5
    events = await db.fetch(
        "SELECT type, payload FROM outbox WHERE user_id = $1 AND type LIKE 'series.%' ORDER BY id",
        member_user.id,
    )
    assert [e["type"] for e in events] == ["series.created"] + ["series.cancelled"] * 3
    assert json.loads(events[-1]["payload"])["scope"] == "all"
    mine = (await w.http.get("/api/v1/me/series", headers=member)).json()
    assert [s["id"] for s in mine["items"]] == [made["id"]]


async def test_who_may_see_and_cancel_a_series(clocked):
    """Faults: a member reads or cancels someone else's series; a manager of another
    location does; an anonymous client does anything."""
    w = clocked
    loc = await make_location()
    space = await make_space(loc)
    member = auth(w.settings, await make_user())
    made = (await create(w, space, member, series("FREQ=DAILY;COUNT=2", "2030-01-08"))).json()
    url = f"/api/v1/spaces/{space.id}/series/{made['id']}/cancel"
    hostile = auth(w.settings, await make_user())
    stranger = auth(w.settings, await make_user("manager", managed=(await make_location(),)))
    for who in (hostile, stranger):
        problem(
            await w.http.get(f"/api/v1/series/{made['id']}", headers=who), 404, "series_not_found"
        )
        problem(await w.http.post(url, json={"scope": "all"}, headers=who), 404, "series_not_found")
    problem(await w.http.get(f"/api/v1/series/{made['id']}"), 401, "unauthorized")
    problem(await w.http.post(url, json={"scope": "all"}), 401, "unauthorized")
    problem(await w.http.get("/api/v1/me/series"), 401, "unauthorized")
    problem(
        await create(w, space, {}, series("FREQ=DAILY;COUNT=2", "2030-01-10")), 401, "unauthorized"
    )
    other_space = await make_space(loc)
    r = await w.http.post(
        f"/api/v1/spaces/{other_space.id}/series/{made['id']}/cancel",
        json={"scope": "all"},
        headers=member,
    )
    problem(r, 404, "series_not_found")
    removed_user = await make_user("manager", managed=(loc,))
    removed = auth(w.settings, removed_user)
    assert (await w.http.get(f"/api/v1/series/{made['id']}", headers=removed)).status_code == 200
    await removed_user.managed_locations.clear()
    problem(
        await w.http.get(f"/api/v1/series/{made['id']}", headers=removed), 404, "series_not_found"
    )
    problem(await w.http.post(url, json={"scope": "all"}, headers=removed), 404, "series_not_found")
    manager = auth(w.settings, await make_user("manager", managed=(loc,)))
    assert (await w.http.get(f"/api/v1/series/{made['id']}", headers=manager)).status_code == 200
    r = await w.http.post(url, json={"scope": "all"}, headers=manager)
    assert [c["refund_percent"] for c in r.json()["cancelled"]] == [100, 100]


async def test_bad_series_are_4xx(clocked):
    w = clocked
    space = await make_space(await make_location())
    member = auth(w.settings, await make_user())
    for rule in ("FREQ=MONTHLY;COUNT=2", "FREQ=WEEKLY", "FREQ=DAILY;COUNT=53", "x"):
        problem(
            await create(w, space, member, series(rule, "2030-01-08")), 422, "invalid_recurrence"
        )
    for bad in (
        {**series("FREQ=DAILY;COUNT=2", "2030-01-08"), "start_time": "9:00"},
        {**series("FREQ=DAILY;COUNT=2", "2030-01-08"), "duration_minutes": 0},
        {**series("FREQ=DAILY;COUNT=2", "2030-01-08"), "mode": "some"},
        {**series("FREQ=DAILY;COUNT=2", "not a date")},
        {**series("FREQ=DAILY;COUNT=2", "2030-01-08"), "extra": 1},
    ):
        problem(await create(w, space, member, bad), 422, "validation_failed")
    r = await create(w, space, member, series("FREQ=DAILY;COUNT=2", "2029-01-08"))
    assert problem(r, 409, "series_not_booked")["occurrences"][0]["outcome"] == "slot_in_past"
    r = await create(w, space, member, series("FREQ=DAILY;COUNT=2", "2150-01-08"))
    assert r.status_code == 422
    made = (await create(w, space, member, series("FREQ=DAILY;COUNT=2", "2030-01-08"))).json()
    url = f"/api/v1/spaces/{space.id}/series/{made['id']}/cancel"
    problem(await w.http.post(url, json={"scope": "one"}, headers=member), 404, "booking_not_found")
    problem(
        await w.http.post(url, json={"scope": "some"}, headers=member), 422, "validation_failed"
    )
