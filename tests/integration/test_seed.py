"""Demo data: what `seed_demo` puts in an empty database, and that it never does it twice."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from itertools import combinations

import pytest

from cowork.domain.schedule import WeeklyHours
from cowork.seed import PLAN_HEIGHT, PLAN_WIDTH, next_holiday, seed_demo
from tests.factories import make_location

PASSWORD = "demo-password-1"
TODAY = date(2026, 11, 29)


async def test_seed_fills_an_empty_database(client, db):
    report = await seed_demo(PASSWORD, today=TODAY)
    assert report.created
    assert report.locations == await db.fetchval("SELECT count(*) FROM locations") >= 3
    assert report.spaces == await db.fetchval("SELECT count(*) FROM spaces") >= 40
    assert await db.fetchval("SELECT count(DISTINCT timezone) FROM locations") >= 2
    assert {r["city"] for r in await db.fetch("SELECT city FROM locations")} == {
        "Milan",
        "London",
        "Lisbon",
    }
    types = {r["type"] for r in await db.fetch("SELECT DISTINCT type FROM spaces")}
    assert types == {"desk", "meeting_room", "private_office", "phone_booth", "event_space"}
    codes = {r["code"] for r in await db.fetch("SELECT code FROM amenities")}
    assert codes >= {
        "wifi",
        "monitor",
        "standing_desk",
        "whiteboard",
        "video_conf",
        "phone",
        "locker",
        "kitchen",
        "projector",
        "quiet",
    }
    prices = await db.fetch("SELECT hourly_price_cents FROM spaces")
    assert any(p["hourly_price_cents"] == 0 for p in prices)
    assert any(p["hourly_price_cents"] > 0 for p in prices)
    untagged = await db.fetchval(
        "SELECT count(*) FROM spaces s WHERE NOT EXISTS "
        "(SELECT 1 FROM space_amenity sa WHERE sa.spaces_id = s.id)"
    )
    assert untagged == 0
    assert "member@example.com" in str(report)


async def test_seeded_floor_plans_are_drawable(client, db):
    await seed_demo(PASSWORD, today=TODAY)
    locations = {
        r["id"]: r["floors"] for r in await db.fetch("SELECT id, floors::text FROM locations")
    }
    spaces = await db.fetch("SELECT location_id, floor, x, y, width, height FROM spaces")
    by_floor: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for s in spaces:
        assert f'"level": {s["floor"]}' in locations[s["location_id"]]
        assert s["x"] >= 0
        assert s["y"] >= 0
        assert s["x"] + s["width"] <= PLAN_WIDTH
        assert s["y"] + s["height"] <= PLAN_HEIGHT
        by_floor.setdefault((s["location_id"], s["floor"]), []).append(
            (s["x"], s["y"], s["width"], s["height"])
        )
    for rects in by_floor.values():
        for (ax, ay, aw, ah), (bx, by, bw, bh) in combinations(rects, 2):
            overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
            assert not overlap


async def test_seeded_hours_and_closures(client, db):
    await seed_demo(PASSWORD, today=TODAY)
    rows = await db.fetch("SELECT opening_hours::text AS h, timezone FROM locations")
    hours = [WeeklyHours.from_dict(json.loads(r["h"])) for r in rows]
    assert WeeklyHours.always_open() in hours
    weekday = WeeklyHours.from_dict({"sat": [["09:00", "14:00"]]}).on(5)
    assert any(h.on(5) == weekday for h in hours)
    closures = await db.fetch("SELECT start_date, end_date FROM closures ORDER BY start_date")
    assert closures
    first = closures[0]["start_date"]
    assert TODAY < first <= TODAY + timedelta(days=40)


async def test_seeded_users(client, db):
    await seed_demo(PASSWORD, today=TODAY)
    users = {
        r["email"]: (r["role"], r["password_hash"])
        for r in await db.fetch("SELECT email, role, password_hash FROM users")
    }
    assert {e: role for e, (role, _) in users.items()} == {
        "admin@example.com": "admin",
        "manager@example.com": "manager",
        "member@example.com": "member",
        "member2@example.com": "member",
    }
    assert all(h.startswith("$argon2id$") for _, h in users.values())
    managed = await db.fetchval(
        "SELECT count(*) FROM location_manager lm JOIN users u ON u.id = lm.users_id"
        " WHERE u.email = 'manager@example.com'"
    )
    assert managed == 2


async def test_seed_is_idempotent(client, db):
    first = await seed_demo(PASSWORD, today=TODAY)
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM locations) l, (SELECT count(*) FROM spaces) s,"
        " (SELECT count(*) FROM users) u, (SELECT count(*) FROM closures) c"
    )
    second = await seed_demo(PASSWORD, today=TODAY)
    assert first.created
    assert not second.created
    assert second.logins == []
    assert "nothing seeded" in str(second)
    again = await db.fetchrow(
        "SELECT (SELECT count(*) FROM locations) l, (SELECT count(*) FROM spaces) s,"
        " (SELECT count(*) FROM users) u, (SELECT count(*) FROM closures) c"
    )
    assert dict(again) == dict(counts)


async def test_concurrent_seeds_insert_once(client, db):
    reports = await asyncio.gather(seed_demo(PASSWORD), seed_demo(PASSWORD))
    assert sorted(r.created for r in reports) == [False, True]
    assert await db.fetchval("SELECT count(*) FROM users") == 4


async def test_seed_skips_a_database_with_locations(client, db):
    await make_location()
    report = await seed_demo(PASSWORD)
    assert not report.created
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_seeded_catalogue_is_searchable(client):
    await seed_demo(PASSWORD, today=TODAY)
    r = await client.get("/api/v1/locations", params={"city": "milan", "type": "phone_booth"})
    items = r.json()["items"]
    assert len(items) == 2
    assert all(i["matching_spaces"] == 3 for i in items)
    r = await client.get("/api/v1/locations", params={"amenities": "video_conf,whiteboard"})
    assert {i["city"] for i in r.json()["items"]} == {"Milan", "London"}


async def test_member_can_log_in(client):
    await seed_demo(PASSWORD, today=TODAY)
    r = await client.post(
        "/api/v1/auth/login", json={"email": "member@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text  # a missing login route is a failure, not a skip
    assert r.json()["access_token"]
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "member@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 29), date(2026, 12, 7)),
        (date(2026, 12, 26), date(2027, 1, 1)),
        (date(2027, 5, 1), date(2027, 6, 2)),
    ],
)
def test_next_holiday(today, expected):
    assert next_holiday(today)[0] == expected
