"""Notifications API and the expiring-soon notice; bookings through the API reach the streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import test_settings as settings_for
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    booking_facts,
    emit,
    stream_token,
)


@pytest.fixture
def settings(database_url, infra):
    # The tests drive the expiring-soon pass themselves: the background loop waits an hour.
    return settings_for(database_url, infra.nats_url, expiring_poll_seconds=3600)


@pytest.fixture
async def place(server):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1000)
    member = await make_user()
    return loc, space, member


async def test_list_read_and_read_all(server, client, place):
    _, space, member = place
    other = await make_user()
    for i, event_type in enumerate(["booking.held", "booking.confirmed", "booking.checked_in"]):
        await emit(server.app, event_type, booking_facts(space, member.id, 10 + i))
    await emit(server.app, "booking.held", booking_facts(space, other.id, 99))
    mine = auth(server.settings, member)

    r = await client.get("/api/v1/notifications", params={"limit": 2}, headers=mine)
    assert r.status_code == 200
    page = r.json()
    assert [n["type"] for n in page["items"]] == ["booking.checked_in", "booking.confirmed"]
    assert page["unread_count"] == 3
    assert page["items"][0]["title"] == "Checked in"
    assert page["items"][0]["booking_id"] == 12
    assert page["items"][0]["read_at"] is None
    r = await client.get(
        "/api/v1/notifications", params={"limit": 2, "cursor": page["next_cursor"]}, headers=mine
    )
    assert [n["type"] for n in r.json()["items"]] == ["booking.held"]
    assert r.json()["next_cursor"] is None

    first = page["items"][0]["id"]
    r = await client.post(f"/api/v1/notifications/{first}/read", headers=mine)
    assert r.status_code == 200
    assert r.json()["read_at"] is not None
    r = await client.get("/api/v1/notifications", params={"unread": "true"}, headers=mine)
    assert [n["type"] for n in r.json()["items"]] == ["booking.confirmed", "booking.held"]
    assert r.json()["unread_count"] == 2

    theirs = await client.get("/api/v1/notifications", headers=auth(server.settings, other))
    their_id = theirs.json()["items"][0]["id"]
    r = await client.post(f"/api/v1/notifications/{their_id}/read", headers=mine)
    assert r.status_code == 404

    r = await client.post("/api/v1/notifications/read-all", headers=mine)
    assert r.json() == {"updated": 2}
    r = await client.get("/api/v1/notifications", params={"unread": "true"}, headers=mine)
    assert r.json()["items"] == []
    assert r.json()["unread_count"] == 0
    theirs = await client.get("/api/v1/notifications", headers=auth(server.settings, other))
    assert theirs.json()["unread_count"] == 1


async def test_notifications_need_auth(client):
    assert (await client.get("/api/v1/notifications")).status_code == 401
    assert (await client.post("/api/v1/notifications/read-all")).status_code == 401


async def _held(db, space_id: int, user_id: int, expires_at: datetime, hours: int) -> int:
    start = datetime(2031, 3, 1, 9, tzinfo=UTC) + timedelta(hours=hours)
    return await db.fetchval(
        """INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,
               price_cents, currency, expires_at)
           SELECT $1, location_id, $2, $3, $4, 'held', 1000, 'EUR', $5
           FROM spaces WHERE id = $1 RETURNING id""",
        space_id,
        user_id,
        start,
        start + timedelta(hours=1),
        expires_at,
    )


async def test_expiring_soon_notice_goes_out_once(server, db, place):
    _, space, member = place
    now = datetime.now(UTC)
    lead = server.settings.expiring_soon_lead_seconds
    soon = await _held(db, space.id, member.id, now + timedelta(seconds=lead - 30), 1)
    later = await _held(db, space.id, member.id, now + timedelta(seconds=lead + 600), 2)
    token = stream_token(server.settings, member.id)
    notices = server.app.ctx.services.notices
    async with SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as mine:
        assert await notices.run_once(now) == 1
        assert await notices.run_once(now) == 0
        event = await mine.next()
    assert event.event == "booking.expiring"
    assert event.data["data"]["booking_id"] == soon
    assert event.data["data"]["expires_at"] is not None
    rows = await db.fetch(
        "SELECT booking_id, type FROM notifications WHERE user_id = $1", member.id
    )
    assert [(r["booking_id"], r["type"]) for r in rows] == [(soon, "booking.expiring")]
    notified = await db.fetchval(
        "SELECT expiring_notified_at IS NOT NULL FROM bookings WHERE id = $1", later
    )
    assert notified is False


async def test_booking_through_the_api_reaches_streams(server, client, place):
    loc, space, member = place
    token = stream_token(server.settings, member.id)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    async with (
        SseClient(server.url, f"/api/v1/streams/locations/{loc.id}") as by_location,
        SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as mine,
    ):
        r = await client.post(
            f"/api/v1/spaces/{space.id}/bookings",
            json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
            headers=auth(server.settings, member),
        )
        assert r.status_code == 201, r.text
        booking_id = r.json()["id"]
        public = await by_location.next()
        personal = await mine.next()
    assert public.event == personal.event == "booking.held"
    assert public.data["data"]["booking_id"] == personal.data["data"]["booking_id"] == booking_id
    assert "price_cents" not in public.data["data"]
    assert personal.data["data"]["price_cents"] == 1000
