"""Calendar feeds over HTTP: secret URLs that rotate and revoke, RFC 5545 that two parsers
read with the right times on both sides of a daylight-saving change, stable UIDs, SEQUENCE
that grows, and nobody reading what is not theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import recurring_ical_events

from cowork.clock import ManualClock
from cowork.domain.calendar import token_hash
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user

ROME = ZoneInfo("Europe/Rome")
FEED = "/api/v1/me/calendar-feed"


@pytest.fixture
async def node(settings):
    # Three weeks before Europe's spring-forward night (2027-03-28 02:00 → 03:00 in Rome).
    clock = ManualClock(datetime(2027, 3, 8, 12, 0, tzinfo=UTC))
    running, srv = await start_server(settings, clock)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            yield running, http, clock
    finally:
        await stop_server(srv)


def path_of(url: str) -> str:
    return urlsplit(url).path


async def book(http, settings, user, space, start: datetime, end: datetime) -> dict:
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json={"start": start.isoformat(), "end": end.isoformat()},
        headers=auth(settings, user),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def fetch(http, url: str) -> icalendar.Calendar:
    r = await http.get(path_of(url))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(r.content)


def events_by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


async def test_feed_times_are_local_and_right_across_dst_in_two_parsers(node):
    """Fails if times are written in UTC or a floating form (09:00 Rome would show as 08:00 or
    10:00 on one side of the change), or if the VTIMEZONE a second parser needs is missing."""
    server, http, _ = node
    space = await make_space(await make_location(timezone="Europe/Rome"))
    member = await make_user()
    before = datetime(2027, 3, 26, 9, tzinfo=ROME)  # CET, UTC+1
    after = datetime(2027, 3, 29, 9, tzinfo=ROME)  # CEST, UTC+2
    for start in (before, after):
        await book(http, server.settings, member, space, start, start.replace(hour=10))
    url = (await http.get(FEED, headers=auth(server.settings, member))).json()["url"]

    body = (await http.get(path_of(url))).content
    cal = icalendar.Calendar.from_ical(body)
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Rome"]
    starts = sorted(e["dtstart"].dt for e in cal.walk("VEVENT"))
    assert [s.astimezone(UTC).hour for s in starts] == [8, 7]
    assert all((s.hour, s.minute) == (9, 0) for s in starts)
    assert b"DTSTART;TZID=Europe/Rome:20270326T090000" in body

    occurrences = recurring_ical_events.of(cal).between(datetime(2027, 3, 1), datetime(2027, 4, 1))
    utc = sorted(o["DTSTART"].dt.astimezone(UTC) for o in occurrences)
    assert utc == [datetime(2027, 3, 26, 8, tzinfo=UTC), datetime(2027, 3, 29, 7, tzinfo=UTC)]


async def test_uids_stay_and_sequence_grows_when_a_booking_changes(server, client, db):
    """Fails if a changed booking gets a new UID (calendar apps would show it twice) or the
    same SEQUENCE (apps would keep the old time). On the system clock: SEQUENCE follows the
    time of each change, which the database stamps."""
    http = client
    space = await make_space(await make_location())
    member = await make_user()
    day = (datetime.now(ROME) + timedelta(days=3)).date()
    start = datetime(day.year, day.month, day.day, 9, tzinfo=ROME)
    booking = await book(http, server.settings, member, space, start, start.replace(hour=10))
    url = (await http.get(FEED, headers=auth(server.settings, member))).json()["url"]
    first = events_by_uid(await fetch(http, url))
    assert len(first) == 1
    uid, event = next(iter(first.items()))
    assert uid.startswith(f"booking-{booking['id']}@")
    assert events_by_uid(await fetch(http, url)).keys() == first.keys()  # stable between fetches

    # The booking was made an hour ago (not within the same second as the change below).
    await db.execute(
        "UPDATE bookings SET updated_at = updated_at - interval '1 hour' WHERE id = $1",
        booking["id"],
    )
    first = events_by_uid(await fetch(http, url))
    event = first[uid]
    moved = start.replace(hour=14)
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings/{booking['id']}/reschedule",
        json={"start": moved.isoformat(), "end": moved.replace(hour=15).isoformat()},
        headers=auth(server.settings, member),
    )
    assert r.status_code == 200, r.text
    second = events_by_uid(await fetch(http, url))
    assert second.keys() == first.keys()
    assert second[uid]["dtstart"].dt == moved
    assert int(second[uid]["sequence"]) > int(event["sequence"])

    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings/{booking['id']}/cancel",
        json={},
        headers=auth(server.settings, member),
    )
    assert r.status_code == 200, r.text
    third = events_by_uid(await fetch(http, url))
    assert str(third[uid]["status"]) == "CANCELLED"
    assert int(third[uid]["sequence"]) >= int(second[uid]["sequence"])


async def test_rotate_and_revoke_end_the_old_url_and_tokens_are_stored_hashed(node, db):
    """Fails if a rotated or revoked URL still serves the feed, if asking twice mints a new
    URL (subscriptions would break), or if the token itself sits in the database."""
    server, http, _ = node
    member = auth(server.settings, await make_user())
    first = (await http.get(FEED, headers=member)).json()["url"]
    assert (await http.get(FEED, headers=member)).json()["url"] == first
    token = path_of(first).removeprefix("/ical/").removesuffix(".ics")
    rows = await db.fetch("SELECT * FROM calendar_feeds")
    assert rows[0]["token_hash"] == token_hash(token)
    assert all(token not in str(value) for row in rows for value in row.values())

    r = await http.post(f"{FEED}/rotate", headers=member)
    assert r.status_code == 200
    second = r.json()["url"]
    assert second != first
    assert (await http.get(path_of(first))).status_code == 404
    assert (await http.get(path_of(second))).status_code == 200

    assert (await http.delete(FEED, headers=member)).status_code == 204
    r = await http.get(path_of(second))
    assert r.status_code == 404
    assert r.json()["code"] == "calendar_feed_not_found"
    third = (await http.get(FEED, headers=member)).json()["url"]
    assert third not in (first, second)
    assert (await http.get(path_of(third))).status_code == 200


async def test_a_member_feed_holds_only_their_bookings(node):
    """Fails if a member's feed shows another member's booking of the same space."""
    server, http, _ = node
    space = await make_space(await make_location())
    mine, theirs = await make_user(), await make_user()
    day = datetime(2027, 3, 16, 9, tzinfo=ROME)
    own = await book(http, server.settings, mine, space, day, day.replace(hour=10))
    await book(http, server.settings, theirs, space, day.replace(hour=11), day.replace(hour=12))
    url = (await http.get(FEED, headers=auth(server.settings, mine))).json()["url"]
    uids = list(events_by_uid(await fetch(http, url)))
    assert len(uids) == 1 and uids[0].startswith(f"booking-{own['id']}@")


async def test_space_feed_for_staff_shows_every_booking_and_nobody_who(node):
    """Fails if a space's feed names its members (a feed URL lives in third-party calendar
    services), misses another member's booking, or outlives its manager's rights."""
    server, http, _ = node
    location = await make_location()
    space = await make_space(location)
    manager = await make_user("manager", managed=(location,))
    members = [await make_user(), await make_user()]
    day = datetime(2027, 3, 17, 9, tzinfo=ROME)
    for i, member in enumerate(members):
        start = day.replace(hour=9 + 2 * i)
        await book(http, server.settings, member, space, start, start.replace(hour=10 + 2 * i))
    path = f"/api/v1/manage/spaces/{space.id}/calendar-feed"
    r = await http.get(path, headers=auth(server.settings, manager))
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    body = (await http.get(path_of(url))).text
    assert body.count("BEGIN:VEVENT") == 2
    for member in members:
        assert member.email not in body and member.name not in body

    await manager.managed_locations.clear()
    assert (await http.get(path_of(url))).status_code == 404
    assert (await http.get(path, headers=auth(server.settings, manager))).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", FEED),
        ("POST", f"{FEED}/rotate"),
        ("DELETE", FEED),
        ("GET", "/api/v1/manage/spaces/{space}/calendar-feed"),
        ("POST", "/api/v1/manage/spaces/{space}/calendar-feed/rotate"),
        ("DELETE", "/api/v1/manage/spaces/{space}/calendar-feed"),
    ],
)
async def test_who_may_not_use_the_feed_endpoints(node, method, path):
    """Fails if an anonymous client reaches any feed endpoint, or a member, a manager of
    another location or a manager removed from the space's location reaches its feed."""
    server, http, _ = node
    location, elsewhere = await make_location(), await make_location()
    space = await make_space(location)
    url = path.format(space=space.id)
    r = await http.request(method, url)
    assert r.status_code == 401
    if "/manage/" in url:
        removed = await make_user("manager", managed=(location,))
        await removed.managed_locations.clear()
        strangers = (await make_user(), await make_user("manager", managed=(elsewhere,)), removed)
        for user in strangers:
            r = await http.request(method, url, headers=auth(server.settings, user))
            assert r.status_code == 403, (user.role, r.text)


@pytest.mark.parametrize(
    "name", ["x.ics", "nothing", "a" * 200 + ".ics", "%00.ics", "..%2F..%2Fetc.ics"]
)
async def test_unknown_feed_tokens_are_404_problems(node, name):
    """Fails if a made-up or oversized token answers anything but a 404 problem."""
    _, http, _ = node
    r = await http.get(f"/ical/{name}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
