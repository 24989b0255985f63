"""Analytics figures on a hand-computed fixture: two time zones, a DST change and a closure.

Period: local dates 2026-03-27 (Fri) .. 2026-03-30 (Mon), inclusive, in each location's zone.
Europe switches to summer time on Sun 2026-03-29 at 01:00 UTC: Rome goes from UTC+1 to UTC+2
(so its Sunday lasts 23 hours) and London from UTC+0 to UTC+1.

Rome (EUR): open 00:00-24:00 every day, closed on Sat 28 (closure). Spaces: desks D1, D2 and
meeting room M1. Open time per space: 24 (Fri) + 0 (Sat, closed) + 23 (Sun, DST) + 24 (Mon)
= 71 h; desks 2 x 71 = 142 h, meeting room 71 h, location 213 h.
Rome's period in UTC: [03-26 23:00, 03-30 22:00).

London (GBP): open Mon-Fri 09:00-17:00 local. Spaces: desk L1, private office P1. Open time
per space: 8 (Fri, 09-17 UTC) + 8 (Mon, 08-16 UTC) = 16 h; location 32 h.
London's period in UTC: [03-27 00:00, 03-30 23:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from tests.factories import auth, make_location, make_space, make_user

H = timedelta(hours=1)
_intents = count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def booking(db, space, user, start, end, status, *, lead=H, price=0, currency="EUR"):
    """Insert a booking created `lead` before its start; returns its id."""
    return await db.fetchval(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9, $9) RETURNING id",
        space.id, space.location_id, user.id, start, end, status, price, currency, start - lead,
    )  # fmt: skip


async def payment(db, booking_id, user, amount, status, at, *, refunded=0, currency="EUR"):
    return await db.fetchval(
        "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, amount_cents,"
        " refunded_cents, currency, status, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        booking_id, user.id, f"pi_{next(_intents)}", amount, refunded, currency, status, at,
    )  # fmt: skip


async def refund(db, payment_id, amount, status, at):
    await db.execute(
        "INSERT INTO refunds (payment_id, stripe_refund_id, amount_cents, reason, status,"
        " created_at) VALUES ($1, $2, $3, '', $4, $5)",
        payment_id, f"re_{next(_intents)}", amount, status, at,
    )  # fmt: skip


@pytest.fixture
async def world(client, db):
    rome = await make_location(name="Rome", timezone="Europe/Rome", currency="EUR")
    weekdays = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    london = await make_location(
        name="London", timezone="Europe/London", currency="GBP", opening_hours=weekdays
    )
    await db.execute(
        "INSERT INTO closures (location_id, start_date, end_date, reason, created_at)"
        " VALUES ($1, '2026-03-28', '2026-03-28', 'strike', now())",
        rome.id,
    )
    d1, d2 = await make_space(rome, type="desk"), await make_space(rome, type="desk")
    m1 = await make_space(rome, type="meeting_room")
    l1 = await make_space(london, type="desk")
    p1 = await make_space(london, type="private_office")
    # An inactive space neither adds open time nor booked time.
    gone = await make_space(rome, type="desk", active=False)
    u = await make_user()

    # Rome. Occupying time inside open time is noted as [hours].
    # R1 Fri 10:00-12:00 CET, completed, booked 48 h ahead. [2]
    r1 = await booking(db, d1, u, utc("2026-03-27T09:00"), utc("2026-03-27T11:00"),
                       "completed", lead=48 * H)  # fmt: skip
    # R2 Sun 01:00 CET - 04:00 CEST: 3 wall-clock hours but 2 real hours across the DST jump. [2]
    r2 = await booking(db, d2, u, utc("2026-03-29T00:00"), utc("2026-03-29T02:00"),
                       "completed", lead=24 * H)  # fmt: skip
    # R3 Fri 22:00 - Sat 02:00 CET: 4 h, but Saturday is closed; only Fri 22-24 counts. [2]
    await booking(db, m1, u, utc("2026-03-27T21:00"), utc("2026-03-28T01:00"),
                  "completed", lead=12 * H)  # fmt: skip
    # R4 Mon 09:00 CEST, no-show: not occupying. R5 Mon 14:00 CEST, cancelled.
    await booking(db, d1, u, utc("2026-03-30T07:00"), utc("2026-03-30T08:00"),
                  "no_show", lead=72 * H)  # fmt: skip
    r5 = await booking(db, d2, u, utc("2026-03-30T12:00"), utc("2026-03-30T13:00"),
                       "cancelled", lead=6 * H)  # fmt: skip
    # R6 an expired hold: never a booking.
    r6 = await booking(db, d2, u, utc("2026-03-27T14:00"), utc("2026-03-27T15:00"), "expired")
    # R7 Thu 23:30 - Fri 01:30 CET: starts before the period (not counted as a booking), but
    # its 1.5 h on Friday are booked time inside the period. [1.5]
    await booking(db, d1, u, utc("2026-03-26T22:30"), utc("2026-03-27T00:30"),
                  "completed", lead=24 * H)  # fmt: skip
    # R8 Mon 23:00 - Tue 01:00 CEST, checked in: only Monday's last hour is in the period. [1]
    await booking(db, d1, u, utc("2026-03-30T21:00"), utc("2026-03-30T23:00"),
                  "checked_in", lead=2 * H)  # fmt: skip
    # A booking of the inactive space: counted as a booking? It starts on Fri, so yes; its
    # time is not occupancy (the space is not in the denominator either).
    await booking(db, gone, u, utc("2026-03-27T10:00"), utc("2026-03-27T11:00"),
                  "cancelled", lead=10 * H)  # fmt: skip

    # London.
    # L1 Fri 08:00-10:00 GMT, opens at 09:00: [1]
    l1b = await booking(db, l1, u, utc("2026-03-27T08:00"), utc("2026-03-27T10:00"),
                        "completed", lead=24 * H, currency="GBP")  # fmt: skip
    # L2 Mon 09:00-12:00 BST = 08:00-11:00 UTC. [3]
    l2b = await booking(db, p1, u, utc("2026-03-30T08:00"), utc("2026-03-30T11:00"),
                        "completed", lead=48 * H, currency="GBP")  # fmt: skip
    # L3 Mon 10:00 BST, no-show.
    await booking(db, l1, u, utc("2026-03-30T09:00"), utc("2026-03-30T10:00"),
                  "no_show", lead=H, currency="GBP")  # fmt: skip
    # L4 Mon 23:30 UTC = Tue 00:30 BST: outside the period, though still "Monday" in UTC.
    await booking(db, l1, u, utc("2026-03-30T23:30"), utc("2026-03-31T00:30"),
                  "completed", lead=24 * H, currency="GBP")  # fmt: skip
    # L5 Sat 10:00-12:00 GMT: a booking of the period, but London is closed on weekends. [0]
    await booking(db, l1, u, utc("2026-03-28T10:00"), utc("2026-03-28T12:00"),
                  "completed", lead=24 * H, currency="GBP")  # fmt: skip

    # Money, dated by when it moved, in local time.
    p_r1 = await payment(db, r1, u, 2000, "succeeded", utc("2026-03-27T12:00"))
    await refund(db, p_r1, 200, "failed", utc("2026-03-28T12:00"))  # failed: not a refund
    p_r5 = await payment(db, r5, u, 1000, "refunded", utc("2026-03-28T10:00"), refunded=1000)
    await refund(db, p_r5, 1000, "succeeded", utc("2026-03-30T12:30"))
    # Paid Mon 23:30 CEST (in); its refund at Tue 00:30 CEST (out of the period).
    p_r2 = await payment(
        db, r2, u, 1500, "partially_refunded", utc("2026-03-30T21:30"), refunded=500
    )
    await refund(db, p_r2, 500, "succeeded", utc("2026-03-30T22:30"))
    await payment(db, r6, u, 1000, "failed", utc("2026-03-27T13:00"))  # never paid
    # London: paid Tue 00:30 BST (out); paid Fri 00:30 GMT (in) and refund pending (in).
    await payment(db, l2b, u, 3000, "succeeded", utc("2026-03-30T23:30"), currency="GBP")
    p_l1 = await payment(db, l1b, u, 800, "succeeded", utc("2026-03-27T00:30"),
                         refunded=300, currency="GBP")  # fmt: skip
    await refund(db, p_l1, 300, "pending", utc("2026-03-29T12:00"))

    admin = await make_user("admin")
    manager = await make_user("manager", managed=(london,))
    return {"rome": rome, "london": london, "admin": admin, "manager": manager, "member": u}


PERIOD = {"from": "2026-03-27", "to": "2026-03-30"}


async def test_overview_figures_match_the_hand_computation(client, settings, world):
    r = await client.get(
        "/api/v1/analytics/overview", params=PERIOD, headers=auth(settings, world["admin"])
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2026-03-27", "to": "2026-03-30"}
    rome, london = body["locations"]
    assert rome["location_id"] == world["rome"].id

    # Rome bookings starting in the period (not held/expired): R1, R3 (Fri), R2 (Sun),
    # R4, R5, R8 (Mon) and the inactive space's cancelled one = 7. R7 starts Thursday.
    assert rome["bookings"] == 7
    assert rome["cancelled"] == 2  # R5 and the inactive space's
    assert rome["no_shows"] == 1  # R4
    assert rome["expired_holds"] == 1  # R6
    # no-show rate = no-shows / (checked in + completed + no-show) = 1 / (R1 R2 R3 R4 R8) = 0.2
    assert rome["no_show_rate"] == 0.2
    # cancellation rate = 2 / 7 = 0.285714... -> 0.2857
    assert rome["cancellation_rate"] == 0.2857
    # lead: (48 + 24 + 12 + 72 + 6 + 2 + 10) / 7 = 174 / 7 = 24.857142... h
    assert rome["avg_lead_time_hours"] == 24.8571
    # Occupancy: desks R1 2 + R2 2 + R7 1.5 + R8 1 = 6.5 h of 142; meeting room R3 2 h of 71.
    assert rome["booked_hours"] == 8.5
    assert rome["open_hours"] == 213
    assert rome["occupancy"] == round(8.5 / 213, 4) == 0.0399
    assert rome["occupancy_by_space_type"] == {
        "desk": {"booked_hours": 6.5, "open_hours": 142, "occupancy": 0.0458},  # 6.5/142
        "meeting_room": {"booked_hours": 2, "open_hours": 71, "occupancy": 0.0282},  # 2/71
    }
    # Revenue: R1 2000 + R5 1000 + R2 1500 (paid Mon 23:30 CEST) = 4500; the failed payment
    # is not revenue. Refunds: R5's 1000; R2's 500 was refunded on Tuesday; a failed one is
    # not a refund. Net 3500.
    assert (rome["revenue_cents"], rome["refunds_cents"], rome["net_revenue_cents"]) == (
        4500, 1000, 3500,
    )  # fmt: skip
    assert rome["currency"] == "EUR"

    # London: L1 (Fri), L5 (Sat), L2 and L3 (Mon) = 4; L4 starts on Tuesday in London.
    assert london["bookings"] == 4
    assert (london["cancelled"], london["no_shows"]) == (0, 1)
    assert london["no_show_rate"] == 0.25  # 1 / (L1 L2 L3 L5)
    assert london["cancellation_rate"] == 0.0
    assert london["avg_lead_time_hours"] == 24.25  # (24 + 24 + 48 + 1) / 4
    # Desk: L1 1 h (opens 09:00), L5 0 (weekend) of 16 h; office: L2 3 h of 16 h.
    assert london["occupancy_by_space_type"] == {
        "desk": {"booked_hours": 1, "open_hours": 16, "occupancy": 0.0625},
        "private_office": {"booked_hours": 3, "open_hours": 16, "occupancy": 0.1875},
    }
    assert (london["booked_hours"], london["open_hours"], london["occupancy"]) == (4, 32, 0.125)
    # Paid Fri 00:30 GMT 800 (in), Tue 00:30 BST 3000 (out); pending refund 300 (in).
    assert (london["revenue_cents"], london["refunds_cents"], london["net_revenue_cents"]) == (
        800, 300, 500,
    )  # fmt: skip

    totals = body["totals"]
    assert totals["bookings"] == 11
    assert totals["no_show_rate"] == round(2 / 9, 4) == 0.2222  # (1 + 1) / (5 + 4)
    assert totals["cancellation_rate"] == round(2 / 11, 4) == 0.1818
    assert totals["avg_lead_time_hours"] == round((174 + 97) / 11, 4) == 24.6364
    assert (totals["booked_hours"], totals["open_hours"]) == (12.5, 245)  # 8.5+4, 213+32
    assert totals["occupancy"] == round(12.5 / 245, 4) == 0.051
    assert totals["occupancy_by_space_type"]["desk"] == {
        "booked_hours": 7.5, "open_hours": 158, "occupancy": 0.0475,  # (6.5+1) / (142+16)
    }  # fmt: skip
    assert totals["revenue_by_currency"] == {
        "EUR": {"revenue_cents": 4500, "refunds_cents": 1000, "net_revenue_cents": 3500},
        "GBP": {"revenue_cents": 800, "refunds_cents": 300, "net_revenue_cents": 500},
    }


async def test_overview_filtered_to_one_location(client, settings, world):
    params = {**PERIOD, "location_id": world["london"].id}
    r = await client.get(
        "/api/v1/analytics/overview", params=params, headers=auth(settings, world["manager"])
    )
    assert r.status_code == 200, r.text
    assert [loc["location_id"] for loc in r.json()["locations"]] == [world["london"].id]
    assert r.json()["totals"]["bookings"] == 4


async def test_a_day_without_summer_time_and_a_closure_change_open_hours(client, settings, world):
    # Sunday alone: Rome is open 23 h (DST) on each of its 3 active spaces; London is closed.
    params = {"from": "2026-03-29", "to": "2026-03-29"}
    r = await client.get(
        "/api/v1/analytics/overview", params=params, headers=auth(settings, world["admin"])
    )
    rome, london = r.json()["locations"]
    assert rome["open_hours"] == 69  # 23 x 3
    assert rome["booked_hours"] == 2  # R2
    assert london["open_hours"] == 0
    assert london["occupancy"] is None  # nothing to divide by
    # Saturday alone: Rome's closure leaves no open time, though R3 ran past midnight into it.
    r = await client.get(
        "/api/v1/analytics/overview",
        params={"from": "2026-03-28", "to": "2026-03-28", "location_id": world["rome"].id},
        headers=auth(settings, world["admin"]),
    )
    (rome,) = r.json()["locations"]
    assert (rome["open_hours"], rome["booked_hours"], rome["occupancy"]) == (0, 0, None)


async def test_daily_series_and_heatmap_in_local_time(client, settings, world):
    r = await client.get(
        "/api/v1/analytics/bookings", params=PERIOD, headers=auth(settings, world["admin"])
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # By local start date: Fri: R1 R3 gone L1 = 4; Sat: L5 = 1; Sun: R2 = 1;
    # Mon: R4 R5 R8 L2 L3 = 5 (cancelled: R5; no-shows: R4, L3).
    assert body["daily"] == [
        {"date": "2026-03-27", "bookings": 4, "cancelled": 1, "no_shows": 0},
        {"date": "2026-03-28", "bookings": 1, "cancelled": 0, "no_shows": 0},
        {"date": "2026-03-29", "bookings": 1, "cancelled": 0, "no_shows": 0},
        {"date": "2026-03-30", "bookings": 5, "cancelled": 1, "no_shows": 2},
    ]
    heat = body["heatmap"]
    assert heat["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    cells = {
        (heat["weekdays"][d], h): n
        for d, row in enumerate(heat["bookings"])
        for h, n in enumerate(row)
        if n
    }
    # Local start hours: R1 Fri 10, R3 Fri 22, gone Fri 11, L1 Fri 08, L5 Sat 10,
    # R2 Sun 01 (CET, before the jump), R4 Mon 09, L2 Mon 09, L3 Mon 10, R5 Mon 14, R8 Mon 23.
    assert cells == {
        ("fri", 8): 1, ("fri", 10): 1, ("fri", 11): 1, ("fri", 22): 1, ("sat", 10): 1,
        ("sun", 1): 1, ("mon", 9): 2, ("mon", 10): 1, ("mon", 14): 1, ("mon", 23): 1,
    }  # fmt: skip


async def test_performance_reads_the_prometheus_registry(client, settings, world):
    headers = auth(settings, world["admin"])
    for _ in range(3):
        assert (await client.get("/api/v1/locations")).status_code == 200
    r = await client.get("/api/v1/analytics/performance", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    groups = {g["group"]: g for g in body["latency"]}
    assert groups["locations"]["count"] >= 3
    assert groups["locations"]["p50_ms"] is not None
    assert groups["locations"]["p50_ms"] <= groups["locations"]["p99_ms"]
    assert set(body) >= {"mailbox_depth", "outbox_lag_seconds", "event_delivery", "connections"}
    metrics = (await client.get("/metrics")).text
    assert "cowork_http_request_seconds_bucket" in metrics


def test_histogram_quantile_interpolates_inside_the_bucket():
    from cowork.http.analytics import histogram_quantile

    # 10 observations: 4 in (0, 0.1], 4 in (0.1, 0.5], 2 in (0.5, +Inf).
    buckets = [(0.1, 4.0), (0.5, 8.0), (float("inf"), 10.0)]
    assert histogram_quantile(0.2, buckets) == pytest.approx(0.05)  # rank 2 of 4 in [0, 0.1]
    assert histogram_quantile(0.6, buckets) == pytest.approx(0.3)  # rank 6: 0.1 + 0.4 * 2/4
    assert histogram_quantile(0.99, buckets) == 0.5  # in +Inf: the largest finite bound
    assert histogram_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None


@pytest.mark.parametrize("path", ["overview", "bookings", "performance"])
async def test_access(client, settings, world, path):
    url = f"/api/v1/analytics/{path}"
    rome, london = world["rome"].id, world["london"].id
    manager, member = world["manager"], world["member"]
    r = await client.get(url, params={"location_id": rome}, headers=auth(settings, manager))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(url, params={"location_id": london}, headers=auth(settings, manager))
    assert r.status_code == 200
    for params in ({}, {"location_id": london}):
        r = await client.get(url, params=params, headers=auth(settings, member))
        assert r.status_code == 403
    assert (await client.get(url)).status_code == 401


async def test_manager_without_filter_sees_only_their_locations(client, settings, world):
    r = await client.get(
        "/api/v1/analytics/overview", params=PERIOD, headers=auth(settings, world["manager"])
    )
    assert [loc["location_id"] for loc in r.json()["locations"]] == [world["london"].id]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-30", "to": "2026-03-27"},
        {"from": "2025-01-01", "to": "2026-03-27"},  # more than 366 days
        {"from": "not-a-date"},
        {"from": "0001-01-01"},
        {"location_id": "0"},
    ],
)
async def test_bad_periods_are_422(client, settings, world, params):
    r = await client.get(
        "/api/v1/analytics/overview", params=params, headers=auth(settings, world["admin"])
    )
    assert r.status_code == 422, r.text
