"""What the web client needed from the API: quotes, refund previews, the floor at an instant,
catalogue changes on the location stream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import ALWAYS_OPEN, make_space
from tests.integration.test_realtime_support import SseClient
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import at, slot


async def test_quote_prices_a_slot_by_the_space_rate(pay_world):
    w = pay_world
    start = at(26)
    r = await w.http.get(f"/api/v1/spaces/{w.space.id}/quote", params=slot(start, 2))
    assert r.status_code == 200, r.text
    assert r.json()["price_cents"] == 2000  # 2 h x 1000: a wrong rate or length shows here
    assert r.json()["currency"] == "EUR"


async def test_quote_refuses_a_slot_the_actor_would_refuse(pay_world):
    w = pay_world
    past = at(-3)
    r = await w.http.get(f"/api/v1/spaces/{w.space.id}/quote", params=slot(past))
    assert r.status_code == 422
    assert r.json()["code"] == "slot_in_past"
    missing = await w.http.get("/api/v1/spaces/999999/quote", params=slot(at(26)))
    assert missing.status_code == 404


async def test_cancellation_preview_matches_the_refund_the_cancel_gives(pay_world, stripe_client):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))  # > 24 h ahead: 100 %
    r = await w.http.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=w.member)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert (preview["refund_percent"], preview["paid_cents"]) == (100, 1000)
    assert preview["refund_cents"] == 1000
    await w.cancel(booking)
    refunds = await poll(lambda: stripe_refunds(stripe_client, intent_id), bool)  # noqa: F405
    assert refunds == [preview["refund_cents"]]


async def test_cancellation_preview_is_only_for_the_bookings_member(pay_world):
    w = pay_world
    booking = await w.hold(at(5))
    mine = await w.http.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=w.member)
    assert mine.json()["refund_cents"] == 0  # nothing paid yet
    assert mine.json()["refund_percent"] == 50  # 2 h < 5 h < 24 h
    other = await w.http.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=w.other)
    assert other.status_code == 404


async def test_floor_at_an_instant_shows_that_instants_bookings(pay_world):
    w = pay_world
    start = at(30)
    await w.hold(start)
    url = f"/api/v1/locations/{w.loc.id}/floor"
    now = {s["id"]: s["status"] for s in (await w.http.get(url)).json()["spaces"]}
    then_r = await w.http.get(url, params={"at": (start + timedelta(minutes=5)).isoformat()})
    then = {s["id"]: s["status"] for s in then_r.json()["spaces"]}
    assert now[w.space.id] == "free"
    assert then[w.space.id] == "held"
    bad = await w.http.get(url, params={"at": "tomorrow"})
    assert bad.status_code == 422


@pytest.mark.parametrize("change", ["space", "hours", "closure"])
async def test_catalogue_changes_reach_the_location_stream(pay_world, change):
    w = pay_world
    async with SseClient(w.server.url, f"/api/v1/streams/locations/{w.loc.id}") as sse:
        if change == "space":
            r = await w.http.patch(
                f"/api/v1/manage/spaces/{w.space.id}", json={"x": 40, "y": 20}, headers=w.manager
            )
        elif change == "hours":
            r = await w.http.put(
                f"/api/v1/manage/locations/{w.loc.id}/hours",
                json={**ALWAYS_OPEN, "sun": [["09:00", "13:00"]]},
                headers=w.manager,
            )
        else:
            day = (at(72)).date().isoformat()
            r = await w.http.post(
                f"/api/v1/manage/locations/{w.loc.id}/closures",
                json={"start_date": day, "end_date": day, "reason": "Floors"},
                headers=w.manager,
            )
        assert r.status_code in (200, 201), r.text
        got = await sse.next()
    if change == "space":
        assert got.event == "space.updated"
        assert (got.data["space_id"], got.data["data"]["x"], got.data["data"]["y"]) == (
            w.space.id,
            40,
            20,
        )
    else:
        assert got.event == "location.updated"
        assert got.data["location_id"] == w.loc.id
        detail = got.data["data"]
        if change == "closure":
            assert detail["changed"] == "closures"
        else:
            assert detail["opening_hours"]["sun"] == [["09:00", "13:00"]]


async def test_search_by_capacity_keeps_only_spaces_that_seat_enough(pay_world):
    w = pay_world
    big = await make_space(w.loc, capacity=8)
    r = await w.http.get(f"/api/v1/locations/{w.loc.id}/spaces", params={"min_capacity": 6})
    assert [s["id"] for s in r.json()["items"]] == [big.id]
    listed = await w.http.get("/api/v1/locations", params={"min_capacity": 6})
    assert {loc["id"]: loc["matching_spaces"] for loc in listed.json()["items"]} == {w.loc.id: 1}
