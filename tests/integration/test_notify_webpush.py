"""Web Push end to end: a booking commits, the relay publishes, the delivery worker pushes to a
push service written for the test, which checks VAPID and decrypts the payload like a browser."""

from __future__ import annotations

import json
import time as clock_time
from datetime import UTC, datetime, timedelta

import pytest

from cowork.clock import ManualClock
from cowork.notify.vapid import generate_private_key, load_vapid, public_key_b64
from tests.conftest import notify_test_settings
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import (
    Browser,
    PushService,
    notify_settings,
    running_worker,
)
from tests.notify_fakes import vapid_claims as verified_claims
from tests.polling import poll

VAPID = generate_private_key()
VAPID_PUBLIC = public_key_b64(load_vapid(VAPID))


@pytest.fixture
async def settings(database_url, infra):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(vapid_private_key=VAPID, vapid_subject="mailto:ops@cowork.test"),
    ) as s:
        yield s


@pytest.fixture
async def world(server):
    loc = await make_location(timezone="Europe/Rome")
    space = await make_space(loc, name="Phone booth 2", type="phone_booth")
    member = await make_user()
    return {"space": space, "member": member, "headers": auth(server.settings, member)}


async def subscribe(client, world, push, browser: Browser, name: str, locale: str | None = None):
    body = {"kind": "webpush", "subscription": browser.subscription(f"{push.url}/push/{name}")}
    if locale:
        body["locale"] = locale
    r = await client.post("/api/v1/me/devices", json=body, headers=world["headers"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def book(client, world, hours: float = 48) -> dict:
    url = f"/api/v1/spaces/{world['space'].id}/bookings"
    r = await client.post(url, json=slot(at(hours)), headers=world["headers"])
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed"
    return r.json()


async def log_rows(db, booking_id: int | None = None):
    return await db.fetch(
        "SELECT target, channel, state, attempts, due_at, last_status, device_id "
        "FROM notify_deliveries ORDER BY id"
    )


async def test_confirmed_booking_reaches_the_browser_signed_and_encrypted(
    server, client, world, push, db
):
    """Fails if the push is unsigned, signed by another key, unencrypted or undecryptable,
    lacks TTL/Urgency/Topic, or carries the wrong event or language."""
    english, italian = Browser(), Browser()
    await subscribe(client, world, push, english, "en")
    await subscribe(client, world, push, italian, "it", locale="it-IT")
    async with running_worker(server.settings):
        booking = await book(client, world)
        await poll(lambda: _count(push), lambda n: n == 2)

    by_path = {r.path: r for r in push.received}
    for name, browser, title in (
        ("en", english, "Booking confirmed"),
        ("it", italian, "Prenotazione confermata"),
    ):
        got = by_path[f"/push/{name}"]
        claims = verified_claims(got.headers["authorization"], VAPID_PUBLIC)
        assert claims["aud"] == push.url  # the push service's origin (RFC 8292 §2)
        assert claims["sub"] == "mailto:ops@cowork.test"
        assert clock_time.time() < claims["exp"] <= clock_time.time() + 24 * 3600
        assert got.headers["content-encoding"] == "aes128gcm"
        assert 0 < int(got.headers["ttl"]) <= 24 * 3600
        assert got.headers["urgency"] == "normal"
        assert got.headers["topic"] == f"booking-{booking['id']}"
        payload = browser.decrypt(got.body)
        assert payload["type"] == "booking.confirmed"
        assert payload["booking_id"] == booking["id"]
        assert payload["title"] == title
        assert payload["url"] == f"https://cowork.test/#booking={booking['id']}"
        assert isinstance(payload["event_id"], int)
    rows = await log_rows(db)
    assert [(r["channel"], r["state"], r["attempts"], r["last_status"]) for r in rows] == [
        ("webpush", "sent", 1, 201),
        ("webpush", "sent", 1, 201),
    ]


async def test_gone_subscription_is_forgotten(server, client, world, push, db):
    """Fails if a 410 from the push service leaves the device registered (pushed forever)."""
    device = await subscribe(client, world, push, Browser(), "old")
    push.answer_next(410)
    async with running_worker(server.settings) as worker:
        await book(client, world)
        await poll(lambda: _devices(client, world), lambda ids: ids == [])
        assert worker.metrics.devices_removed.labels("webpush")._value.get() == 1
    rows = await log_rows(db)
    assert [(r["state"], r["last_status"]) for r in rows] == [("gone", 410)]
    assert device not in await _devices(client, world)


@pytest.fixture
def manual_settings(server):
    # Only explicit passes (run_due) send held or retried rows: the test decides when.
    from dataclasses import replace

    return replace(server.settings, notify=replace(server.settings.notify, poll_seconds=3600))


async def test_retry_after_is_honoured(server, client, world, push, db, manual_settings):
    """Fails if a 429 is retried before its Retry-After, or never retried."""
    await subscribe(client, world, push, Browser(), "busy")
    push.answer_next(429, {"Retry-After": "120"})
    clock = ManualClock(datetime.now(UTC))
    t0 = clock.now()
    async with running_worker(manual_settings, clock) as worker:
        await book(client, world)
        rows = await poll(lambda: log_rows(db), lambda rs: rs and rs[0]["attempts"] == 1)
        assert rows[0]["state"] == "pending" and rows[0]["last_status"] == 429
        assert rows[0]["due_at"] == t0 + timedelta(seconds=120)
        clock.advance(timedelta(seconds=119))
        assert await worker.run_due() == 0
        assert len(push.received) == 1
        clock.advance(timedelta(seconds=1))
        assert await worker.run_due() == 1
        rows = await poll(lambda: log_rows(db), lambda rs: rs[0]["state"] == "sent")
    assert rows[0]["attempts"] == 2
    assert len(push.received) == 2


async def test_quiet_hours_hold_a_push_until_they_end(
    server, client, world, push, db, manual_settings
):
    """Fails if a non-urgent push is sent during the member's quiet hours, or never after."""
    await subscribe(client, world, push, Browser(), "night")
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    now = clock.now()
    window = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    r = await client.put(
        "/api/v1/me/notification-preferences",
        json={
            "push": ["confirmed", "cancelled"],
            "email": [],
            "reminder_lead_minutes": 15,
            "quiet_hours": window,
            "timezone": "UTC",
        },
        headers=world["headers"],
    )
    assert r.status_code == 200, r.text
    async with running_worker(manual_settings, clock) as worker:
        await book(client, world)
        rows = await poll(lambda: log_rows(db), lambda rs: len(rs) == 1)
        assert rows[0]["state"] == "pending" and rows[0]["attempts"] == 0
        assert rows[0]["due_at"] == now + timedelta(hours=1)
        clock.advance(timedelta(minutes=59))
        assert await worker.run_due() == 0
        assert push.received == []
        clock.advance(timedelta(minutes=1))
        assert await worker.run_due() == 1
        await poll(lambda: _count(push), lambda n: n == 1)
    assert worker.metrics.deferred._value.get() == 1


async def _count(push: PushService) -> int:
    return len(push.received)


async def _devices(client, world) -> list[int]:
    r = await client.get("/api/v1/me/devices", headers=world["headers"])
    return [d["id"] for d in r.json()["items"]]


async def test_a_malformed_event_is_dropped_and_the_worker_goes_on(
    server, client, world, push, caplog
):
    """Fails if a poisoned message stops the worker or is redelivered forever."""
    from cowork.realtime.stream import STREAM

    await subscribe(client, world, push, Browser(), "after")
    async with running_worker(server.settings):
        user = world["member"].id
        js = server.app.ctx.services.bus.js
        await js.publish(f"cowork.user.{user}.booking.confirmed", b"{not json", stream=STREAM)
        bad = {"type": "booking.confirmed", "v": 1, "data": {"start": "yesterday"}}
        await js.publish(
            f"cowork.user.{user}.booking.confirmed", json.dumps(bad).encode(), stream=STREAM
        )
        await book(client, world)
        await poll(lambda: _count(push), lambda n: n == 1)

        async def pending() -> int:
            info = await js.consumer_info(STREAM, server.settings.notify.consumer)
            return (info.num_ack_pending or 0) + (info.num_redelivered or 0)

        await poll(pending, lambda n: n == 0)
    # Both poisoned messages were dropped (terminated) once each: the garbage before it was
    # taken for any kind, the bad booking when its data failed. (The events counter is not
    # compared: the session's shared stream may carry other tests' late events for the same
    # user ids.)
    dropped = sorted(
        r.getMessage().endswith("not JSON")
        for r in caplog.records
        if "dropping malformed event" in r.getMessage()
    )
    assert dropped == [False, True], caplog.text
