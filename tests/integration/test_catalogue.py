"""Public catalogue: every filter returns exactly the expected ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import make_location, make_space, make_user

DAY = "2030-03-04"  # a Monday; bookings below are in UTC


def at(hhmm: str, offset: str = "Z") -> str:
    return f"{DAY}T{hhmm}:00{offset}"


@dataclass
class World:
    milan: int
    london: int
    closed: int
    lisbon: int
    s: dict[str, int]


async def _book(db, space_id: int, user_id: int, start: str, end: str, status: str) -> None:
    await db.execute(
        """INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,
               price_cents, currency)
           SELECT $1, location_id, $2, $3::text::timestamptz, $4::text::timestamptz, $5, 0, 'EUR'
           FROM spaces WHERE id = $1""",
        space_id,
        user_id,
        start,
        end,
        status,
    )


@pytest.fixture
async def world(client, db) -> World:
    milan = await make_location(city="Milan")
    london = await make_location(city="London", timezone="Europe/London", currency="GBP")
    closed = await make_location(city="Milan", active=False)
    lisbon = await make_location(city="Lisbon", timezone="Europe/Lisbon")
    s = {
        "m_desk_wm": await make_space(milan, amenities=("wifi", "monitor")),
        "m_desk_w": await make_space(milan, amenities=("wifi",)),
        "m_room": await make_space(
            milan,
            type="meeting_room",
            capacity=8,
            hourly_price_cents=2500,
            amenities=("wifi", "whiteboard"),
        ),
        "m_desk_off": await make_space(milan, active=False, amenities=("wifi", "monitor")),
        "l_booth": await make_space(london, type="phone_booth", amenities=("phone",)),
        "l_desk": await make_space(
            london, hourly_price_cents=500, amenities=("wifi", "monitor", "standing_desk")
        ),
        "c_desk": await make_space(closed, amenities=("wifi", "monitor")),
    }
    ids = {k: v.id for k, v in s.items()}
    user = await make_user()
    # m_desk_wm: confirmed 10-12; m_desk_w: held 11-13; l_desk: only dead bookings 10-12.
    await _book(db, ids["m_desk_wm"], user.id, at("10:00"), at("12:00"), "confirmed")
    await _book(db, ids["m_desk_w"], user.id, at("11:00"), at("13:00"), "held")
    await _book(db, ids["l_desk"], user.id, at("10:00"), at("12:00"), "cancelled")
    await _book(db, ids["l_desk"], user.id, at("10:00"), at("12:00"), "expired")
    await _book(db, ids["l_booth"], user.id, at("10:00"), at("11:00"), "checked_in")
    return World(milan.id, london.id, closed.id, lisbon.id, ids)


async def _location_ids(client, **params) -> dict[int, int]:
    r = await client.get("/api/v1/locations", params=params)
    assert r.status_code == 200, r.text
    return {item["id"]: item["matching_spaces"] for item in r.json()["items"]}


async def test_no_filter_lists_active_locations_with_counts(client, world):
    assert await _location_ids(client) == {world.milan: 3, world.london: 2, world.lisbon: 0}


async def test_item_shape(client, world):
    r = await client.get("/api/v1/locations", params={"city": "london"})
    [item] = r.json()["items"]
    assert item["timezone"] == "Europe/London"
    assert item["currency"] == "GBP"
    assert item["opening_hours"]["mon"] == [["00:00", "24:00"]]
    assert item["floors"][0]["width"] == 100
    assert {"id", "name", "city", "address", "matching_spaces"} <= set(item)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"city": "mILan"}, {"milan": 3}),
        ({"city": "Mil"}, {}),
        ({"type": "desk"}, {"milan": 2, "london": 1}),
        ({"type": "phone_booth"}, {"london": 1}),
        ({"type": "event_space"}, {}),
        ({"amenities": "wifi,monitor"}, {"milan": 1, "london": 1}),
        ({"amenities": "monitor, wifi,"}, {"milan": 1, "london": 1}),
        ({"amenities": "whiteboard"}, {"milan": 1}),
        ({"type": "meeting_room", "amenities": "monitor"}, {}),
        ({"type": "desk", "amenities": "standing_desk", "city": "London"}, {"london": 1}),
    ],
)
async def test_filters(client, world, params, expected):
    names = {"milan": world.milan, "london": world.london}
    assert await _location_ids(client, **params) == {names[k]: v for k, v in expected.items()}


@pytest.mark.parametrize(
    ("window", "params", "expected"),
    [
        # confirmed blocks m_desk_wm; held blocks m_desk_w from 11:00; dead bookings never block
        (("10:00", "11:00"), {"type": "desk"}, {"milan": 1, "london": 1}),
        (("11:00", "12:00"), {"type": "desk"}, {"london": 1}),
        (("10:30", "10:45"), {"amenities": "wifi,monitor"}, {"london": 1}),
        # adjacent to the confirmed 10-12 booking, but the hold runs until 13:00
        (("12:00", "13:00"), {"type": "desk"}, {"milan": 1, "london": 1}),
        (("08:00", "10:00"), {"type": "desk"}, {"milan": 2, "london": 1}),
        # a window alone narrows: Lisbon has no space, so none is free
        (("13:00", "14:00"), {}, {"milan": 3, "london": 2}),
        # checked_in blocks the booth
        (("10:59", "11:30"), {"type": "phone_booth"}, {}),
        (("11:00", "11:30"), {"type": "phone_booth"}, {"london": 1}),
    ],
)
async def test_free_between(client, world, window, params, expected):
    names = {"milan": world.milan, "london": world.london, "lisbon": world.lisbon}
    got = await _location_ids(client, **params, **{"from": at(window[0]), "to": at(window[1])})
    assert got == {names[k]: v for k, v in expected.items()}


async def test_free_between_with_offsets(client, world):
    # 11:00-12:00 Rome time (UTC+1 in March) is 10:00-11:00 UTC
    got = await _location_ids(
        client, type="desk", **{"from": at("11:00", "+01:00"), "to": at("12:00", "+01:00")}
    )
    assert got == {world.milan: 1, world.london: 1}


async def test_unencoded_plus_in_offset_is_tolerated(client, world):
    url = f"/api/v1/locations?type=desk&from={at('11:00', '+01:00')}&to={at('12:00', '+01:00')}"
    r = await client.get(url.replace("+", "%20"))
    assert r.status_code == 200
    assert {i["id"] for i in r.json()["items"]} == {world.milan, world.london}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "sofa"}, "invalid_query"),
        ({"amenities": "teleporter"}, "unknown_amenity"),
        ({"amenities": "Bad Code"}, "invalid_query"),
        ({"from": "2030-03-04T10:00:00"}, "invalid_query"),
        ({"from": "2030-03-04T10:00:00", "to": "2030-03-04T11:00:00"}, "invalid_query"),
        ({"from": at("10:00")}, "invalid_window"),
        ({"to": at("10:00")}, "invalid_window"),
        ({"from": at("11:00"), "to": at("10:00")}, "invalid_window"),
        ({"from": at("11:00"), "to": at("11:00")}, "invalid_window"),
        ({"from": "yesterday", "to": at("11:00")}, "invalid_query"),
        ({"limit": "0"}, "invalid_query"),
        ({"limit": "abc"}, "invalid_query"),
        ({"cursor": "!!!"}, "invalid_query"),  # not the declared alphabet
        ({"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTk"}, "invalid_cursor"),  # beyond any id
    ],
)
async def test_bad_filters_are_problems(client, world, params, code):
    r = await client.get("/api/v1/locations", params=params)
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_pagination_walks_every_location_once(client):
    created = [(await make_location(name=f"P{i}")).id for i in range(5)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/v1/locations", params=params)).json()
        assert len(body["items"]) <= 2
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created)
    assert pages == 3


async def test_location_detail(client, world, db):
    await db.execute(
        """INSERT INTO closures (location_id, start_date, end_date, reason, created_at)
           VALUES ($1, '2099-12-25', '2099-12-26', 'Xmas', now()),
                  ($1, '2000-01-01', '2000-01-01', 'Long ago', now())""",
        world.milan,
    )
    r = await client.get(f"/api/v1/locations/{world.milan}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == world.milan
    assert [c["reason"] for c in body["closures"]] == ["Xmas"]
    assert body["closures"][0]["start_date"] == "2099-12-25"
    assert body["cancellation_policy"] == [
        {"hours_before": 24, "percent": 100},
        {"hours_before": 2, "percent": 50},
    ]
    assert body["booking_rules"]["granularity_minutes"] == 15


@pytest.mark.parametrize("which", ["closed", "missing", "huge"])
async def test_hidden_or_missing_location_is_404(client, world, which):
    location_id = {"closed": world.closed, "missing": 999_999, "huge": 2**40}[which]
    for path in (f"/api/v1/locations/{location_id}", f"/api/v1/locations/{location_id}/spaces"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["code"] == "location_not_found"


async def _space_ids(client, location_id, **params) -> dict[int, bool | None]:
    r = await client.get(f"/api/v1/locations/{location_id}/spaces", params=params)
    assert r.status_code == 200, r.text
    return {item["id"]: item.get("free") for item in r.json()["items"]}


async def test_location_spaces_filters(client, world):
    s = world.s
    assert await _space_ids(client, world.milan) == {
        s["m_desk_wm"]: None,
        s["m_desk_w"]: None,
        s["m_room"]: None,
    }
    assert set(await _space_ids(client, world.milan, type="desk")) == {
        s["m_desk_wm"],
        s["m_desk_w"],
    }
    assert set(await _space_ids(client, world.milan, amenities="wifi,monitor")) == {s["m_desk_wm"]}
    assert await _space_ids(client, world.milan, type="phone_booth") == {}


async def test_location_spaces_free_flags(client, world):
    s = world.s
    window = {"from": at("11:30"), "to": at("12:30")}
    assert await _space_ids(client, world.milan, **window) == {
        s["m_desk_wm"]: False,
        s["m_desk_w"]: False,
        s["m_room"]: True,
    }
    adjacent = {"from": at("12:00"), "to": at("12:30")}
    assert await _space_ids(client, world.milan, type="desk", **adjacent) == {
        s["m_desk_wm"]: True,
        s["m_desk_w"]: False,
    }
    only = await _space_ids(client, world.milan, free_only="true", **adjacent)
    assert only == {s["m_desk_wm"]: True, s["m_room"]: True}


async def test_location_spaces_paginate(client, world):
    first = (await client.get(f"/api/v1/locations/{world.milan}/spaces?limit=2")).json()
    assert len(first["items"]) == 2
    rest = await client.get(
        f"/api/v1/locations/{world.milan}/spaces",
        params={"limit": 2, "cursor": first["next_cursor"]},
    )
    body = rest.json()
    assert [i["id"] for i in body["items"]] == [world.s["m_room"]]
    assert body["next_cursor"] is None


async def test_space_detail(client, world):
    r = await client.get(f"/api/v1/spaces/{world.s['m_room']}")
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "meeting_room"
    assert body["amenities"] == ["whiteboard", "wifi"]
    assert body["hourly_price_cents"] == 2500
    assert body["daily_price_cents"] is None
    assert body["currency"] == "EUR"
    assert body["is_free"] is False
    assert body["location_id"] == world.milan
    assert {k: body[k] for k in ("floor", "x", "y", "width", "height")} == {
        "floor": 0,
        "x": 0,
        "y": 0,
        "width": 1,
        "height": 1,
    }
    london_desk = (await client.get(f"/api/v1/spaces/{world.s['l_desk']}")).json()
    assert london_desk["currency"] == "GBP"


@pytest.mark.parametrize("key", ["m_desk_off", "c_desk"])
async def test_inactive_space_or_location_hides_space(client, world, key):
    r = await client.get(f"/api/v1/spaces/{world.s[key]}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_amenities_list(client, world):
    r = await client.get("/api/v1/amenities")
    assert r.status_code == 200
    codes = [a["code"] for a in r.json()["items"]]
    assert sorted(codes) == ["monitor", "phone", "standing_desk", "whiteboard", "wifi"]


async def test_catalogue_documented(client):
    paths = (await client.get("/docs/openapi.json")).json()["paths"]
    assert "/api/v1/locations" in paths
    params = {p["name"] for p in paths["/api/v1/locations"]["get"]["parameters"]}
    assert {"city", "type", "amenities", "from", "to", "limit", "cursor"} <= params
