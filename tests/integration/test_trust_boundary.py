"""The security review's findings (issue 11), each tried over HTTP as an attacker would.

Every test names the hole it proves closed; each failed on the main branch the review read.
The cross-node token case is in tests/e2e/test_trust_tokens.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.devstack import free_port
from cowork.domain.presence import booking_pin, location_code
from cowork.payments.gateway import StripeGateway
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient, SseEvent, WsClient
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    at,
    booking_status,
    confirm_card,
    poll,
    slot,
    stripe_refunds,
    with_stripe,
)


async def event_named(stream: SseClient, name: str) -> SseEvent:
    while True:
        event = await stream.next()
        if event.event == name:
            return event


def tomorrow(hour: int) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# -- 1. stale privileges (one node; two nodes: tests/e2e/test_trust_tokens.py) -------------


async def test_a_deactivated_member_cannot_book_or_stream(client, server, db):
    space = await make_space(await make_location(), hourly_price_cents=0)
    member = await make_user()
    admin = await make_user("admin")
    headers = auth(server.settings, member)
    token = (await client.post("/api/v1/streams/token", headers=headers)).json()["token"]
    async with SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as stream:
        await stream.wait_comment()
        r = await client.patch(
            f"/api/v1/admin/users/{member.id}",
            json={"is_active": False},
            headers=auth(server.settings, admin),
        )
        assert r.status_code == 200
        # The open stream says why it ends, then ends.
        end = await event_named(stream, "end")
        assert end.data["reason"] == "revoked"
    r = await client.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(tomorrow(10)), headers=headers
    )
    assert r.status_code in (401, 403)
    r = await client.get(f"/api/v1/streams/me?token={token}")
    assert r.status_code in (401, 403)


async def test_a_demoted_admin_cannot_restore_themself(client, server):
    victim = await make_user("admin")
    other = await make_user("admin")
    old = auth(server.settings, victim)
    r = await client.patch(
        f"/api/v1/admin/users/{victim.id}",
        json={"role": "member", "is_active": False},
        headers=auth(server.settings, other),
    )
    assert r.status_code == 200
    r = await client.patch(
        f"/api/v1/admin/users/{victim.id}", json={"role": "admin", "is_active": True}, headers=old
    )
    assert r.status_code in (401, 403)
    listed = await client.get("/api/v1/admin/users", headers=auth(server.settings, other))
    me = next(u for u in listed.json()["items"] if u["id"] == victim.id)
    assert (me["role"], me["is_active"]) == ("member", False)


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": "pw-123456"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


async def test_logout_and_refresh_reuse_end_the_access_token(client):
    email = "leaver@example.com"
    r = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": "pw-123456", "name": "L"}
    )
    assert r.status_code == 201
    pair = await _login(client, email)
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    await client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    r = await client.get("/api/v1/me", headers=bearer)
    assert (r.status_code, r.json()["code"]) == (401, "token_revoked")

    pair = await _login(client, email)
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert first.status_code == 200
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reuse.json()["code"] == "refresh_token_reused"
    for token in (pair["access_token"], first.json()["access_token"]):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


# -- 2. underpayment -------------------------------------------------------------------------


async def test_a_rescheduled_hold_cannot_be_bought_at_its_old_price(
    pay_world: PayWorld, stripe_client, pay_settings, db
):
    w = pay_world
    booking = await w.hold(at(48), hours=1)
    intent = (await w.pay(booking["id"])).json()["payment_intent_id"]
    # Stripe unreachable while the hold moves to 5 hours: the intent keeps asking 1 hour.
    payments = w.server.app.ctx.services.payments
    reachable = payments.gateway
    payments.gateway = StripeGateway(with_stripe(pay_settings, f"http://127.0.0.1:{free_port()}"))
    try:
        r = await w.http.post(
            f"/api/v1/spaces/{booking['space_id']}/bookings/{booking['id']}/reschedule",
            json=slot(at(48), 5),
            headers=w.member,
        )
        assert r.status_code == 200, r.text
        assert r.json()["price_cents"] == 5000
    finally:
        await payments.gateway.close()
        payments.gateway = reachable
    await confirm_card(stripe_client, intent)  # pays the old 1-hour amount
    await poll(lambda: booking_status(w, booking["id"]), lambda s: s == "cancelled")
    await poll(lambda: stripe_refunds(stripe_client, intent), lambda amounts: amounts == [1000])
    row = await db.fetchrow("SELECT cancel_reason FROM bookings WHERE id = $1", booking["id"])
    assert row["cancel_reason"] == "payment_mismatch"
    audited = await db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'refund_in_full' AND after->>'reason' = $1",
        "payment_mismatch",
    )
    assert audited == 1
    told = await db.fetchval(
        "SELECT count(*) FROM notifications WHERE booking_id = $1 AND type = 'booking.refunded'",
        booking["id"],
    )
    assert told == 1


async def test_a_reschedule_moves_the_intent_to_the_new_price(pay_world: PayWorld, stripe_client):
    w = pay_world
    booking = await w.hold(at(72), hours=1)
    intent = (await w.pay(booking["id"])).json()["payment_intent_id"]
    r = await w.http.post(
        f"/api/v1/spaces/{booking['space_id']}/bookings/{booking['id']}/reschedule",
        json=slot(at(72), 3),
        headers=w.member,
    )
    assert r.status_code == 200, r.text
    remote = await stripe_client.v1.payment_intents.retrieve_async(intent)
    assert int(remote.amount) == 3000
    await confirm_card(stripe_client, intent)
    await poll(lambda: booking_status(w, booking["id"]), lambda s: s == "confirmed")


# -- 3. poison input -------------------------------------------------------------------------


POISON = [
    ("get", "/api/v1/spaces/{s}/availability?from=9999-12-20T00:00:00Z&to=9999-12-21T00:00:00Z"),
    ("post", "/api/v1/spaces/{s}/bookings", {"start": "0001-01-01T00:00:00+14:00",
                                              "end": "0001-01-01T01:00:00+14:00"}),
    ("post", "/api/v1/spaces/{s}/bookings/{b}/cancel", {"reason": "x" * 40}),
]  # fmt: skip


async def test_poison_requests_beside_normal_reads_take_nothing_down(client, server):
    space = await make_space(await make_location(), hourly_price_cents=1000)
    member = auth(server.settings, await make_user())
    held = await client.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(tomorrow(9)), headers=member
    )
    normal = f"/api/v1/spaces/{space.id}/availability?from={tomorrow(8).isoformat()}"
    normal += f"&to={tomorrow(20).isoformat()}"

    async def poison(entry: tuple) -> httpx.Response:
        method, path, *body = entry
        url = path.format(s=space.id, b=held.json()["id"])
        return await client.request(
            method.upper(), url, json=body[0] if body else None, headers=member
        )

    answers = await asyncio.gather(
        *(poison(p) for p in POISON * 5),
        *(client.get(normal.replace("+", "%2B")) for _ in range(45)),
    )
    bad, good = answers[: len(POISON) * 5], answers[len(POISON) * 5 :]
    assert [r.status_code for r in good] == [200] * 45
    assert all(400 <= r.status_code < 500 for r in bad), [r.status_code for r in bad]
    assert server.app.ctx.services.registry.crashes == 0


# -- 4. refunds owed survive the client going away -------------------------------------------


async def test_a_replayed_cancel_neither_loses_nor_doubles_the_refund(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    booking, intent = await w.paid_booking(stripe_client, at(48))
    url = f"/api/v1/spaces/{booking['space_id']}/bookings/{booking['id']}/cancel"
    keyed = {**w.member, "Idempotency-Key": "cancel-once"}
    first = await w.http.post(url, headers=keyed)
    again = await w.http.post(url, headers=keyed)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("idempotent-replayed") == "true"
    await poll(lambda: stripe_refunds(stripe_client, intent), lambda amounts: amounts == [1000])
    rows = await db.fetchval(
        "SELECT count(*) FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " WHERE p.booking_id = $1",
        booking["id"],
    )
    assert rows == 1


# -- 5. leaks and oracles --------------------------------------------------------------------


async def test_reasons_and_notes_never_reach_the_public_stream(client, server):
    location = await make_location()
    space = await make_space(location, hourly_price_cents=0)
    member = auth(server.settings, await make_user())
    booked = await client.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(tomorrow(11)), headers=member
    )
    async with SseClient(server.url, f"/api/v1/streams/locations/{location.id}") as stream:
        await stream.wait_comment()
        url = f"/api/v1/spaces/{space.id}/bookings/{booked.json()['id']}/cancel"
        r = await client.post(url, json={"reason": "other", "note": "my dentist"}, headers=member)
        assert r.status_code == 200, r.text
        event = await event_named(stream, "booking.cancelled")
    assert "my dentist" not in str(event.data)
    assert set(event.data["data"]) == {"booking_id", "space_id", "start", "end", "status"}


async def test_a_member_cannot_record_a_system_reason(client, server):
    space = await make_space(await make_location(), hourly_price_cents=0)
    member = auth(server.settings, await make_user())
    booked = await client.post(
        f"/api/v1/spaces/{space.id}/bookings", json=slot(tomorrow(12)), headers=member
    )
    url = f"/api/v1/spaces/{space.id}/bookings/{booked.json()['id']}/cancel"
    for reserved in ("cancelled_by_staff", "slot_lost", "payment_failed"):
        r = await client.post(url, json={"reason": reserved}, headers=member)
        assert r.status_code == 422, reserved


async def test_someone_elses_booking_answers_like_none(client, server):
    space = await make_space(await make_location(), hourly_price_cents=1000)
    owner = auth(server.settings, await make_user())
    snoop = auth(server.settings, await make_user())
    theirs = (
        await client.post(
            f"/api/v1/spaces/{space.id}/bookings", json=slot(tomorrow(13)), headers=owner
        )
    ).json()["id"]
    missing = theirs + 10_000

    async def answers(booking_id: int) -> list[tuple[int, str, str, str]]:
        base = f"/api/v1/spaces/{space.id}/bookings/{booking_id}"
        calls = [
            client.get(f"/api/v1/bookings/{booking_id}", headers=snoop),
            client.post(f"{base}/cancel", headers=snoop),
            client.post(f"{base}/no-show", headers=snoop),
            client.post(f"{base}/check-in", headers=snoop),
            client.post(f"{base}/reschedule", json=slot(tomorrow(15)), headers=snoop),
            client.post(f"/api/v1/bookings/{booking_id}/payment", headers=snoop),
        ]
        out = []
        for r in await asyncio.gather(*calls):
            body = r.json()
            detail = body["detail"].replace(str(booking_id), "ID")
            out.append((r.status_code, body["code"], body["title"], detail))
        return out

    theirs_answers, missing_answers = await answers(theirs), await answers(missing)
    assert theirs_answers == missing_answers
    assert {a[0] for a in theirs_answers} == {404}


async def test_csv_export_neutralises_formula_cells(client, server):
    location = await make_location()
    space = await make_space(location, hourly_price_cents=0, name="=cmd|' /C calc'!A0")
    member_user = await make_user(email="+1@example.com")
    await client.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json=slot(tomorrow(14)),
        headers=auth(server.settings, member_user),
    )
    manager = auth(server.settings, await make_user("manager", managed=(location,)))
    r = await client.get(
        "/api/v1/manage/bookings",
        params={"location_id": location.id, "format": "csv"},
        headers=manager,
    )
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["space_name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["user_email"] == "'+1@example.com"


# -- 6. kiosk check-in needs proof of presence ------------------------------------------------


async def test_a_kiosk_alone_cannot_check_in_and_a_member_needs_its_code(client, server, db):
    location = await make_location(booking_rules={"check_in_needs_presence": True})
    space = await make_space(location, hourly_price_cents=0)
    member_user = await make_user()
    member = auth(server.settings, member_user)
    manager = auth(server.settings, await make_user("manager", managed=(location,)))
    r = await client.post(
        "/api/v1/admin/kiosks", json={"location_id": location.id, "name": "Door"}, headers=manager
    )
    kiosk = {"Authorization": f"Kiosk {r.json()['token']}"}
    start = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 15)
    booking = await db.fetchval(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency) VALUES ($1, $2, $3, $4, $5, 'confirmed', 0, 'EUR') RETURNING id",
        space.id, location.id, member_user.id, start, start + timedelta(hours=1),
    )  # fmt: skip
    # The board shows the booking id; the id alone no longer checks anyone in.
    r = await client.post("/api/v1/kiosk/check-in", json={"booking_id": booking}, headers=kiosk)
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/kiosk/check-in", json={"booking_id": booking, "pin": "000000"}, headers=kiosk
    )
    assert (r.status_code, r.json()["code"]) == (403, "presence_required")
    # From home the member cannot check in either; with the code the kiosk shows, they can.
    url = f"/api/v1/spaces/{space.id}/bookings/{booking}/check-in"
    r = await client.post(url, headers=member)
    assert (r.status_code, r.json()["code"]) == (403, "presence_required")
    shown = (await client.get("/api/v1/kiosk/presence", headers=kiosk)).json()
    key = server.settings.presence_key
    assert shown["code"] == location_code(key, location.id, datetime.now(UTC))[0]
    r = await client.post(url, json={"presence_code": shown["code"]}, headers=member)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "checked_in"
    # The PIN is shown to its member only.
    mine = (await client.get(f"/api/v1/bookings/{booking}", headers=member)).json()
    assert mine["check_in_pin"] == booking_pin(key, booking)
    staff_view = (await client.get(f"/api/v1/bookings/{booking}", headers=manager)).json()
    assert "check_in_pin" not in staff_view


# -- 7. abuse limits in the app, headers, metrics ---------------------------------------------


@pytest.fixture
def strict_settings(settings):
    from dataclasses import replace

    return replace(
        settings,
        login_failures_per_address_per_minute=5,
        registrations_per_address_per_hour=3,
        metrics_addresses=("10.9.9.9",),
        metrics_token="scrape-me-please",
    )


async def test_one_address_cannot_spray_passwords_or_registrations(strict_settings):
    from tests.conftest import start_server, stop_server

    running, srv = await start_server(strict_settings)
    try:
        async with httpx.AsyncClient(base_url=running.url) as http:
            codes = []
            for n in range(7):  # a different e-mail each time: only the address is shared
                r = await http.post(
                    "/api/v1/auth/login", json={"email": f"x{n}@example.com", "password": "nope"}
                )
                codes.append(r.status_code)
            assert codes[:5] == [401] * 5
            assert codes[5:] == [429, 429]
            assert int(r.headers["retry-after"]) >= 1
            made = []
            for n in range(4):
                r = await http.post(
                    "/api/v1/auth/register",
                    json={"email": f"r{n}@example.com", "password": "pw-123456", "name": "R"},
                )
                made.append(r.status_code)
            assert made == [201, 201, 201, 429]
            r = await http.get("/healthz")
            assert r.headers["x-content-type-options"] == "nosniff"
            assert (await http.get("/metrics")).status_code == 403
            bearer = {"Authorization": "Bearer scrape-me-please"}
            assert (await http.get("/metrics", headers=bearer)).status_code == 200
    finally:
        await stop_server(srv)


# -- 8. streams outlive their right no more ---------------------------------------------------


async def test_a_websocket_caps_its_channels(server):
    location = await make_location()
    async with WsClient(server.url) as ws:
        for n in range(server.settings.ws_max_channels + 1):
            space = await make_space(location)
            await ws.send(type="subscribe", channel=f"space:{space.id}", ref=n)
            reply = await ws.recv()
            while reply["type"] == "event":  # presence on the spaces already subscribed
                reply = await ws.recv()
        assert (reply["type"], reply.get("code")) == ("error", "too_many_channels"), reply
