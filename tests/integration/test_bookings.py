"""Booking engine through HTTP: holds, free bookings, conflicts, cancel, check-in, reschedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll


def at(hours_from_now: float, *, base: datetime | None = None) -> datetime:
    """A quarter-hour-aligned instant some hours ahead."""
    base = base or datetime.now(UTC)
    t = base + timedelta(hours=hours_from_now)
    return t.replace(minute=(t.minute // 15) * 15, second=0, microsecond=0)


def slot(start: datetime, hours: float = 1) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


@pytest.fixture
async def world(server):
    loc = await make_location()
    paid = await make_space(loc, hourly_price_cents=1000, daily_price_cents=5000)
    free = await make_space(loc, type="phone_booth")
    member = await make_user()
    other = await make_user()
    manager = await make_user("manager", managed=(loc,))
    s = server.settings
    return {
        "loc": loc,
        "paid": paid,
        "free": free,
        "member": auth(s, member),
        "other": auth(s, other),
        "manager": auth(s, manager),
        "member_id": member.id,
    }


async def test_paid_space_gives_a_hold(client, world):
    start = at(48)
    r = await client.post(
        f"/api/v1/spaces/{world['paid'].id}/bookings", json=slot(start, 2), headers=world["member"]
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "held"
    assert body["price_cents"] == 2000
    assert body["currency"] == "EUR"
    assert body["expires_at"] is not None
    assert r.headers["location"] == f"/api/v1/bookings/{body['id']}"


async def test_free_space_is_confirmed(client, world):
    r = await client.post(
        f"/api/v1/spaces/{world['free'].id}/bookings", json=slot(at(48)), headers=world["member"]
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["expires_at"] is None


async def test_overlap_is_409_and_adjacent_is_fine(client, world):
    url = f"/api/v1/spaces/{world['paid'].id}/bookings"
    start = at(72)
    assert (await client.post(url, json=slot(start, 2), headers=world["member"])).status_code == 201
    r = await client.post(url, json=slot(start + timedelta(hours=1)), headers=world["other"])
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "slot_taken"
    r = await client.post(url, json=slot(start + timedelta(hours=2)), headers=world["other"])
    assert r.status_code == 201


async def test_cancel_releases_the_slot(client, world):
    url = f"/api/v1/spaces/{world['paid'].id}/bookings"
    start = at(96)
    booking = (await client.post(url, json=slot(start), headers=world["member"])).json()
    r = await client.post(f"{url}/{booking['id']}/cancel", headers=world["member"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert (await client.post(url, json=slot(start), headers=world["other"])).status_code == 201


async def test_members_cannot_touch_others_bookings(client, world):
    url = f"/api/v1/spaces/{world['paid'].id}/bookings"
    booking = (await client.post(url, json=slot(at(100)), headers=world["member"])).json()
    r = await client.post(f"{url}/{booking['id']}/cancel", headers=world["other"])
    assert r.status_code == 404
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers=world["other"])
    assert r.status_code == 404
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers=world["manager"])
    assert r.status_code == 200


async def test_reschedule_keeps_old_slot_when_new_is_taken(client, world):
    url = f"/api/v1/spaces/{world['paid'].id}/bookings"
    start = at(120)
    mine = (await client.post(url, json=slot(start), headers=world["member"])).json()
    theirs_start = start + timedelta(hours=3)
    assert (
        await client.post(url, json=slot(theirs_start), headers=world["other"])
    ).status_code == 201
    r = await client.post(
        f"{url}/{mine['id']}/reschedule", json=slot(theirs_start), headers=world["member"]
    )
    assert r.status_code == 409
    r = await client.get(f"/api/v1/bookings/{mine['id']}", headers=world["member"])
    assert r.json()["start"] == start.isoformat().replace("+00:00", "+00:00")
    r = await client.post(
        f"{url}/{mine['id']}/reschedule",
        json=slot(start + timedelta(hours=5)),
        headers=world["member"],
    )
    assert r.status_code == 200, r.text
    # the old slot is free again
    assert (await client.post(url, json=slot(start), headers=world["other"])).status_code == 201


async def test_check_in_window(client, world):
    url = f"/api/v1/spaces/{world['free'].id}/bookings"
    later = (await client.post(url, json=slot(at(30)), headers=world["member"])).json()
    r = await client.post(f"{url}/{later['id']}/check-in", headers=world["member"])
    assert r.status_code == 409
    assert r.json()["code"] == "check_in_window_closed"


async def test_availability_and_floor(client, world):
    url = f"/api/v1/spaces/{world['paid'].id}/bookings"
    start = at(50)
    await client.post(url, json=slot(start, 2), headers=world["member"])
    window = {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (start + timedelta(hours=3)).isoformat(),
    }
    r = await client.get(f"/api/v1/spaces/{world['paid'].id}/availability", params=window)
    assert r.status_code == 200, r.text
    busy = r.json()["busy"]
    assert [(b["start"], b["status"]) for b in busy] == [(start.isoformat(), "held")]
    assert len(r.json()["free"]) == 2
    r = await client.get(f"/api/v1/locations/{world['loc'].id}/floor")
    assert r.status_code == 200
    assert {s["status"] for s in r.json()["spaces"]} == {"free"}


async def test_my_bookings_lists_only_mine(client, world):
    url = f"/api/v1/spaces/{world['free'].id}/bookings"
    await client.post(url, json=slot(at(20)), headers=world["member"])
    await client.post(url, json=slot(at(22)), headers=world["other"])
    r = await client.get("/api/v1/bookings", headers=world["member"])
    items = r.json()["items"]
    assert len(items) == 1
    assert items[0]["user_id"] == world["member_id"]


async def test_a_price_change_reaches_the_warm_actor_at_once(settings):
    """Actors also reload their rules every 30 s on their own; with the node's clock frozen
    that never happens, so the new price can only arrive through the change announced over
    NATS (the fault: a node that misses the announcement charges the old price)."""
    running, srv = await start_server(settings, clock=ManualClock(datetime.now(UTC)))
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
            loc = await make_location()
            paid = await make_space(loc, hourly_price_cents=1000)
            member = auth(settings, await make_user())
            url = f"/api/v1/spaces/{paid.id}/bookings"
            first = await client.post(url, json=slot(at(60)), headers=member)
            assert first.json()["price_cents"] == 1000  # the actor is warm with the old price
            admin = auth(settings, await make_user("admin"))
            r = await client.patch(
                f"/api/v1/manage/spaces/{paid.id}", json={"hourly_price_cents": 2500}, headers=admin
            )
            assert r.status_code == 200, r.text
            hours = iter(range(61, 1000, 2))

            async def price() -> int:
                r = await client.post(url, json=slot(at(next(hours))), headers=member)
                return int(r.json()["price_cents"])

            await poll(price, lambda got: got == 2500)
    finally:
        await stop_server(srv)
