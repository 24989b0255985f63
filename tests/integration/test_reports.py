"""Managers' dashboard (right now, on a hand-driven clock) and the bookings list and CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user

_intents = count(1)
# Sunday 2026-03-29, the day Rome moves to summer time: 12:30 CEST.
NOW = datetime(2026, 3, 29, 10, 30, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def booking(db, space, user, start, end, status, *, expires_at=None, created_at=None):
    return await db.fetchval(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency, expires_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, 0, 'EUR', $7, $8, $8) RETURNING id",
        space.id, space.location_id, user.id, start, end, status, expires_at,
        created_at or start - timedelta(days=1),
    )  # fmt: skip


async def paid(db, space, user, amount, at, *, refunds=()):
    """A completed booking paid `amount` at `at`, with (amount, status, at) refunds."""
    start = utc("2026-01-05T10:00") + timedelta(hours=next(_intents))
    booking_id = await booking(db, space, user, start, start + timedelta(hours=1), "completed")
    payment_id = await db.fetchval(
        "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, amount_cents,"
        " refunded_cents, currency, status, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, 'EUR', 'succeeded', $6, $6) RETURNING id",
        booking_id, user.id, f"pi_{next(_intents)}", amount,
        sum(a for a, s, _ in refunds if s != "failed"), at,
    )  # fmt: skip
    for refund_amount, status, refund_at in refunds:
        await db.execute(
            "INSERT INTO refunds (payment_id, stripe_refund_id, amount_cents, status, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            payment_id, f"re_{next(_intents)}", refund_amount, status, refund_at,
        )  # fmt: skip


@pytest.fixture
async def clocked(settings):
    clock = ManualClock(NOW)
    running, srv = await start_server(replace(settings, timer_max_sleep_seconds=3600), clock)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            yield http
    finally:
        await stop_server(srv)


async def test_dashboard_right_now(clocked, settings, db):
    rome = await make_location(name="Rome", timezone="Europe/Rome")
    other = await make_location(name="Elsewhere", timezone="America/New_York")
    s1, s2, s3, s4 = [await make_space(rome) for _ in range(4)]
    await make_space(rome, active=False)  # inactive: not on the dashboard
    u = await make_user()
    manager = await make_user("manager", managed=(rome,))

    await booking(db, s1, u, utc("2026-03-29T10:00"), utc("2026-03-29T12:00"), "checked_in")
    await booking(db, s2, u, utc("2026-03-29T10:00"), utc("2026-03-29T11:00"), "confirmed")
    await booking(db, s3, u, utc("2026-03-29T10:15"), utc("2026-03-29T11:15"), "held",
                  expires_at=utc("2026-03-29T10:40"))  # fmt: skip
    # S4: a lapsed hold covers now (not counted: the slot is free) and a live hold later.
    await booking(db, s4, u, utc("2026-03-29T10:00"), utc("2026-03-29T11:00"), "held",
                  expires_at=utc("2026-03-29T10:20"))  # fmt: skip
    await booking(db, s4, u, utc("2026-03-29T14:00"), utc("2026-03-29T15:00"), "held",
                  expires_at=utc("2026-03-29T10:35"))  # fmt: skip
    # Arrivals in [10:30, 12:30): S2 at 11:00 and S4 at 12:00; S3 at 12:30 is just outside.
    a1 = await booking(db, s2, u, utc("2026-03-29T11:00"), utc("2026-03-29T12:00"), "confirmed")
    a2 = await booking(db, s4, u, utc("2026-03-29T12:00"), utc("2026-03-29T12:30"), "confirmed")
    await booking(db, s3, u, utc("2026-03-29T12:30"), utc("2026-03-29T13:00"), "confirmed")
    # No-shows of the local day (Sun 00:00 CET = Sat 23:00 UTC .. Sun 24:00 CEST = 22:00 UTC):
    await booking(db, s1, u, utc("2026-03-29T07:00"), utc("2026-03-29T08:00"), "no_show")
    await booking(db, s1, u, utc("2026-03-28T22:30"), utc("2026-03-28T23:00"), "no_show")  # Sat
    # Money by local day and month.
    await paid(db, s1, u, 1000, utc("2026-03-28T23:30"))  # Sun 00:30 CET: today
    await paid(db, s1, u, 2000, utc("2026-03-28T22:30"),  # Sat 23:30 CET: this month
               refunds=[(400, "succeeded", utc("2026-03-29T09:00")),  # today
                        (100, "failed", utc("2026-03-29T09:30"))])  # fmt: skip
    await paid(db, s1, u, 500, utc("2026-02-28T23:30"))  # Sun 1 Mar 00:30 CET: this month
    await paid(db, s1, u, 700, utc("2026-02-28T22:30"))  # Sat 28 Feb 23:30 CET: last month

    r = await clocked.get("/api/v1/manage/dashboard", headers=auth(settings, manager))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["at"] == NOW.isoformat()
    (loc,) = body["locations"]
    assert loc["location_id"] == rome.id
    assert loc["local_date"] == "2026-03-29"
    assert loc["spaces"] == {"free": 1, "held": 1, "booked": 1, "occupied": 1, "pending": 0}
    assert loc["arrivals_next_2h"] == 2
    assert [a["id"] for a in loc["arrivals"]] == [a1, a2]
    assert loc["open_holds"] == 2  # expires 10:40 and 10:35; the 10:20 one has lapsed
    assert loc["no_shows_today"] == 1
    assert loc["today"] == {"revenue_cents": 1000, "refunds_cents": 400, "net_cents": 600}
    # 1000 + 2000 + 500; the failed refund is not one.
    assert loc["month"] == {"revenue_cents": 3500, "refunds_cents": 400, "net_cents": 3100}

    r = await clocked.get(
        "/api/v1/manage/dashboard",
        params={"location_id": other.id},
        headers=auth(settings, manager),
    )
    assert r.status_code == 403
    admin = await make_user("admin")
    r = await clocked.get("/api/v1/manage/dashboard", headers=auth(settings, admin))
    assert {loc["location_id"] for loc in r.json()["locations"]} == {rome.id, other.id}
    r = await clocked.get(
        "/api/v1/manage/dashboard", params={"location_id": 999_999}, headers=auth(settings, admin)
    )
    assert r.status_code == 404


@pytest.fixture
async def listed(client, db):
    rome = await make_location(timezone="Europe/Rome")
    ny = await make_location(timezone="America/New_York")
    far = await make_location()
    d1, d2 = await make_space(rome), await make_space(rome)
    n1 = await make_space(ny)
    f1 = await make_space(far)
    alice = await make_user(email="Alice@Example.com")
    bob = await make_user()
    day = timedelta(days=1)
    ids: dict[str, int] = {}
    base = utc("2026-04-01T10:00")
    # 7 completed bookings of Alice at D1 on 1..7 April, 10:00 UTC.
    for n in range(7):
        start = base + n * day
        ids[f"a{n}"] = await booking(db, d1, alice, start, start + timedelta(hours=1), "completed")
    ids["b_cancel"] = await booking(db, d2, bob, base, base + timedelta(hours=1), "cancelled")
    # New York, 2 April 23:30 local = 3 April 03:30 UTC (EDT is UTC-4).
    ids["ny"] = await booking(
        db, n1, bob, utc("2026-04-03T03:30"), utc("2026-04-03T04:30"), "completed"
    )
    ids["far"] = await booking(db, f1, bob, base, base + timedelta(hours=1), "completed")
    manager = await make_user("manager", managed=(rome, ny))
    return {"rome": rome, "ny": ny, "far": far, "f1": f1, "d1": d1, "alice": alice, "bob": bob,
            "manager": manager, "ids": ids}  # fmt: skip


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_bookings_list_filters_and_pages(client, settings, listed):
    headers = auth(settings, listed["manager"])
    ids = listed["ids"]
    r = await client.get("/api/v1/manage/bookings", headers=headers)
    assert r.status_code == 200, r.text
    # Everything at the manager's locations, newest first; never the third location.
    expected = sorted((v for k, v in ids.items() if k != "far"), reverse=True)
    assert [b["id"] for b in r.json()["items"]] == expected

    # Alice by email (any case), 2..5 April (local Rome dates), completed, two per page.
    params = {"member": "alice@example.COM", "from": "2026-04-02", "to": "2026-04-05",
              "status": "completed,no_show", "limit": 2}  # fmt: skip
    seen, cursor = [], None
    while True:
        got = await client.get(
            "/api/v1/manage/bookings",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert got.status_code == 200, got.text
        assert len(got.json()["items"]) <= 2
        seen += [b["id"] for b in got.json()["items"]]
        cursor = got.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids["a4"], ids["a3"], ids["a2"], ids["a1"]]

    by_id = await client.get(
        "/api/v1/manage/bookings",
        params={"member": str(listed["bob"].id), "location_id": listed["ny"].id},
        headers=headers,
    )
    assert [b["id"] for b in by_id.json()["items"]] == [ids["ny"]]
    # The New York booking starts on 2 April in New York, though 3 April in UTC.
    local = await client.get(
        "/api/v1/manage/bookings",
        params={"location_id": listed["ny"].id, "from": "2026-04-02", "to": "2026-04-02"},
        headers=headers,
    )
    assert [b["id"] for b in local.json()["items"]] == [ids["ny"]]
    item = local.json()["items"][0]
    assert (item["user_email"], item["status"]) == (listed["bob"].email, "completed")


async def test_csv_export_has_a_header_and_exactly_the_filtered_rows(client, settings, listed):
    headers = auth(settings, listed["manager"])
    ids = listed["ids"]
    params = {"location_id": listed["rome"].id, "status": "completed", "from": "2026-04-02",
              "to": "2026-04-06", "format": "csv", "limit": 1}  # fmt: skip
    r = await client.get("/api/v1/manage/bookings", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].split(",")[:3] == ["id", "location_id", "space_id"]
    rows = csv_rows(r.text)
    # All pages (limit is ignored by the export): a1..a5, newest first; not the cancelled one.
    assert [int(row["id"]) for row in rows] == [ids[f"a{n}"] for n in (5, 4, 3, 2, 1)]
    assert len(lines) == 1 + 5
    json_rows = await client.get(
        "/api/v1/manage/bookings", params={**params, "format": "json", "limit": 200},
        headers=headers,
    )  # fmt: skip
    assert [str(b["id"]) for b in json_rows.json()["items"]] == [row["id"] for row in rows]
    assert rows[0]["user_email"] == "Alice@Example.com"
    assert rows[0]["start"] == json_rows.json()["items"][0]["start"]

    empty = await client.get(
        "/api/v1/manage/bookings",
        params={"location_id": listed["rome"].id, "status": "no_show", "format": "csv"},
        headers=headers,
    )
    assert empty.status_code == 200
    assert len(empty.text.splitlines()) == 1  # the header alone


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"format": "xml"}, {"from": "2026-04-05", "to": "2026-04-01"},
     {"space_id": "0"}, {"cursor": "!!"}],
)  # fmt: skip
async def test_bad_list_queries_are_4xx(client, settings, listed, params):
    r = await client.get(
        "/api/v1/manage/bookings", params=params, headers=auth(settings, listed["manager"])
    )
    assert r.status_code in (400, 422), r.text


async def test_access(client, settings, listed):
    manager, far = listed["manager"], listed["far"]
    for params in (
        {"location_id": far.id},
        {"location_id": far.id, "format": "csv"},
        {"space_id": listed["f1"].id},
    ):
        r = await client.get("/api/v1/manage/bookings", params=params,
                             headers=auth(settings, manager))  # fmt: skip
        assert r.status_code == 403, params
    r = await client.get(
        "/api/v1/manage/dashboard", params={"location_id": far.id}, headers=auth(settings, manager)
    )
    assert r.status_code == 403
    member = listed["alice"]
    for path in ("/api/v1/manage/bookings", "/api/v1/manage/dashboard"):
        assert (await client.get(path, headers=auth(settings, member))).status_code == 403
        r = await client.get(path, params={"format": "csv"}, headers=auth(settings, member))
        assert r.status_code == 403
        assert (await client.get(path)).status_code == 401
