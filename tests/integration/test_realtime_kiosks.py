"""Kiosk registration, rights, the board and check-in by kiosk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.presence import booking_pin
from cowork.store.kiosks import hash_token
from cowork.store.models import KioskDevice
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import WsClient


@pytest.fixture
async def world(server):
    loc = await make_location()
    elsewhere = await make_location()
    desk = await make_space(loc, name="A desk")
    room = await make_space(loc, name="B room", type="meeting_room")
    await make_space(loc, name="C gone", active=False)
    member = await make_user(email="kiosk.member@example.com")
    manager = await make_user("manager", managed=(loc,))
    admin = await make_user("admin")
    return {
        "loc": loc,
        "elsewhere": elsewhere,
        "desk": desk,
        "room": room,
        "member": member,
        "manager": manager,
        "admin": admin,
    }


async def register(client, settings, user, location_id, name="Lobby"):
    return await client.post(
        "/api/v1/admin/kiosks",
        json={"location_id": location_id, "name": name},
        headers=auth(settings, user),
    )


async def test_register_list_and_rights(server, client, world):
    s = server.settings
    r = await register(client, s, world["manager"], world["loc"].id)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["location_id"] == world["loc"].id
    assert len(created["token"]) >= 40
    stored = await KioskDevice.get(id=created["id"])
    assert stored.token_hash == hash_token(created["token"])
    assert created["token"] not in stored.token_hash

    # A manager cannot register kiosks elsewhere; members cannot at all; admins anywhere.
    r = await register(client, s, world["manager"], world["elsewhere"].id)
    assert r.status_code == 403
    r = await register(client, s, world["member"], world["loc"].id)
    assert r.status_code == 403
    r = await register(client, s, world["admin"], world["elsewhere"].id, "Door")
    assert r.status_code == 201

    r = await client.get("/api/v1/admin/kiosks", headers=auth(s, world["manager"]))
    assert [k["name"] for k in r.json()["items"]] == ["Lobby"]
    assert all("token" not in k for k in r.json()["items"])
    r = await client.get("/api/v1/admin/kiosks", headers=auth(s, world["admin"]))
    assert [k["name"] for k in r.json()["items"]] == ["Lobby", "Door"]
    r = await client.get("/api/v1/admin/kiosks", headers=auth(s, world["member"]))
    assert r.status_code == 403

    door = r = await client.get("/api/v1/admin/kiosks", headers=auth(s, world["admin"]))
    door_id = door.json()["items"][1]["id"]
    r = await client.delete(f"/api/v1/admin/kiosks/{door_id}", headers=auth(s, world["manager"]))
    assert r.status_code == 403
    r = await client.delete("/api/v1/admin/kiosks/999999", headers=auth(s, world["admin"]))
    assert r.status_code == 404


async def test_bad_input(server, client, world):
    headers = auth(server.settings, world["admin"])
    r = await client.post(
        "/api/v1/admin/kiosks", json={"location_id": world["loc"].id}, headers=headers
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/admin/kiosks", json={"location_id": 999999, "name": "X"}, headers=headers
    )
    assert r.status_code == 404


async def _book(db, space_id, user_id, start, hours=1, status="confirmed"):
    return await db.fetchval(
        """INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,
               price_cents, currency)
           SELECT $1, location_id, $2, $3, $4, $5, 0, 'EUR' FROM spaces WHERE id = $1
           RETURNING id""",
        space_id,
        user_id,
        start,
        start + timedelta(hours=hours),
        status,
    )


async def test_board_shows_current_and_next_without_personal_data(server, client, db, world):
    r = await register(client, server.settings, world["manager"], world["loc"].id)
    kiosk = {"Authorization": f"Kiosk {r.json()['token']}"}
    now = datetime.now(UTC)
    member = world["member"]
    current = await _book(db, world["desk"].id, member.id, now - timedelta(minutes=30))
    upcoming = await _book(db, world["desk"].id, member.id, now + timedelta(hours=2))
    await _book(db, world["desk"].id, member.id, now + timedelta(hours=5))
    await _book(db, world["room"].id, member.id, now + timedelta(hours=1), status="cancelled")

    r = await client.get("/api/v1/kiosk/now", headers=kiosk)
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["location_id"] == world["loc"].id
    assert [s["name"] for s in board["spaces"]] == ["A desk", "B room"]
    desk, room = board["spaces"]
    assert desk["current"]["booking_id"] == current
    assert desk["current"]["status"] == "confirmed"
    assert desk["next"]["booking_id"] == upcoming
    assert room["current"] is None
    assert room["next"] is None
    text = r.text
    assert member.email not in text
    assert member.name not in text
    assert "user" not in text

    seen = await KioskDevice.get(token_hash=hash_token(r.request.headers["authorization"][6:]))
    assert seen.last_seen_at is not None


async def test_board_refuses_missing_or_wrong_tokens(client):
    for header in ({}, {"Authorization": "Kiosk nope"}, {"Authorization": "Bearer x"}):
        r = await client.get("/api/v1/kiosk/now", headers=header)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_kiosk_check_in_goes_through_the_actor(server, client, db, world):
    r = await register(client, server.settings, world["manager"], world["loc"].id)
    token = r.json()["token"]
    now = datetime.now(UTC)
    booking = await _book(db, world["desk"].id, world["member"].id, now - timedelta(minutes=5))
    other_place = await make_space(world["elsewhere"])
    foreign = await _book(db, other_place.id, world["member"].id, now - timedelta(minutes=5))

    async with WsClient(server.url) as ws:
        await ws.send(type="auth", token=token)
        await ws.expect("auth_ok")
        key = server.settings.presence_key
        await ws.send(type="check_in", booking_id=foreign, pin=booking_pin(key, foreign), ref=1)
        assert (await ws.recv())["code"] == "booking_not_found"
        await ws.send(type="check_in", booking_id=booking, pin=booking_pin(key, booking), ref=2)
        reply = await ws.recv()
    assert reply["type"] == "checked_in", reply
    assert reply["booking"]["status"] == "checked_in"
    assert "user_id" not in reply["booking"]
    status = await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking)
    assert status == "checked_in"

    # Over HTTP a second check-in is refused by the booking rules (problem+json).
    r = await client.post(
        "/api/v1/kiosk/check-in",
        json={"booking_id": booking, "pin": booking_pin(server.settings.presence_key, booking)},
        headers={"Authorization": f"Kiosk {token}"},
    )
    assert r.status_code == 409, r.text  # a conflict with the booking's state, never a 5xx
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_transition"
