"""admin/expiries shows the timer's deadlines; POST admin/expiries/sweep acts on the due ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(settings):
    # The background timer sweeps once at start and then sleeps for an hour of real time
    # (nothing wakes it: rows inserted with SQL do not), so only the POST below sweeps.
    running, srv = await start_server(
        replace(settings, timer_max_sleep_seconds=3600), ManualClock(NOW)
    )
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            yield http
    finally:
        await stop_server(srv)


async def insert(db, space, user, start, status, *, deadline, expires_at=None):
    return await db.fetchval(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency, expires_at, deadline_at) VALUES ($1, $2, $3, $4, $5, $6, 900,"
        " 'EUR', $7, $8) RETURNING id",
        space.id, space.location_id, user.id, start, start + timedelta(hours=1), status,
        expires_at, deadline,
    )  # fmt: skip


async def test_overdue_hold_shows_up_and_goes_after_a_sweep(clocked, settings, db):
    location = await make_location()
    space = await make_space(location, hourly_price_cents=900)
    member, admin = await make_user(), await make_user("admin")
    headers = auth(settings, admin)

    async def timer() -> dict:
        return (await clocked.get("/api/v1/admin/expiries", headers=headers)).json()["timer"]

    # The timer's sweep at start must be over before the hold exists (else it takes it).
    await poll(timer, lambda t: t["last_sweep_at"] is not None)
    lapsed = NOW - timedelta(minutes=5)
    hold = await insert(db, space, member, NOW + timedelta(days=1), "held",
                        deadline=lapsed, expires_at=lapsed)  # fmt: skip
    # A confirmed booking whose no-show check is tomorrow: pending, not due.
    later = NOW + timedelta(days=2)
    confirmed = await insert(db, space, member, later, "confirmed",
                             deadline=later + timedelta(minutes=15))  # fmt: skip

    r = await clocked.get("/api/v1/admin/expiries", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    kinds = {k["kind"]: k for k in body["kinds"]}
    assert kinds["hold_expiry"]["due"] == 1
    assert kinds["hold_expiry"]["overdue"] == 1  # 5 minutes late, more than 60 s
    assert [d["booking_id"] for d in kinds["hold_expiry"]["next"]] == [hold]
    assert kinds["hold_expiry"]["next_at"] == lapsed.isoformat()
    assert (kinds["no_show"]["pending"], kinds["no_show"]["due"]) == (1, 0)
    assert [d["booking_id"] for d in kinds["no_show"]["next"]] == [confirmed]
    assert kinds["completion"]["pending"] == 0
    assert (body["due"], body["overdue"]) == (1, 1)
    assert body["recently_expired"] == []

    r = await clocked.post("/api/v1/admin/expiries/sweep", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["handled"] == 1
    assert r.json()["timer"]["recent"][0]["booking_id"] == hold

    r = await clocked.get("/api/v1/admin/expiries", headers=headers)
    body = r.json()
    kinds = {k["kind"]: k for k in body["kinds"]}
    assert (kinds["hold_expiry"]["pending"], kinds["hold_expiry"]["due"]) == (0, 0)
    assert (body["due"], body["overdue"]) == (0, 0)
    assert [e["booking_id"] for e in body["recently_expired"]] == [hold]
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", hold) == "expired"
    assert kinds["no_show"]["pending"] == 1  # untouched


async def test_only_admins(clocked, settings):
    location = await make_location()
    for user in (await make_user(), await make_user("manager", managed=(location,))):
        headers = auth(settings, user)
        assert (await clocked.get("/api/v1/admin/expiries", headers=headers)).status_code == 403
        r = await clocked.post("/api/v1/admin/expiries/sweep", headers=headers)
        assert r.status_code == 403
    assert (await clocked.get("/api/v1/admin/expiries")).status_code == 401
    assert (await clocked.post("/api/v1/admin/expiries/sweep")).status_code == 401
    admin = auth(settings, await make_user("admin"))
    r = await clocked.get("/api/v1/admin/expiries", params={"limit": "0"}, headers=admin)
    assert r.status_code == 422
