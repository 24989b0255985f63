"""Paying a held booking: the intent, the price, the customer, Stripe being down, history."""

from __future__ import annotations

from dataclasses import replace

import httpx

from cowork.devstack import free_port, start_localstripe
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    at,
    booking_status,
    confirm_card,
    poll,
    running_payments,
    stop_payments,
    with_stripe,
)


async def test_card_payment_confirms_the_booking_end_to_end(pay_world: PayWorld, stripe_client, db):
    w = pay_world
    booking = await w.hold(at(48), hours=2)
    r = await w.pay(booking["id"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["amount_cents"] == 2000
    assert body["currency"] == "EUR"
    assert body["publishable_key"] == "pk_test_x"
    assert body["stripe_js_url"] == w.s.stripe_js_url
    assert body["client_secret"].startswith(body["payment_intent_id"])

    await confirm_card(stripe_client, body["payment_intent_id"])
    # localstripe signs and sends payment_intent.succeeded about a second later.
    await poll(lambda: booking_status(w, booking["id"]), lambda st: st == "confirmed")
    # The event is recorded in the webhook's last transaction, just after the confirmation.
    await poll(
        lambda: db.fetchval(
            "SELECT count(*) FROM stripe_events WHERE type = 'payment_intent.succeeded'"
        ),
        lambda n: n == 1,
    )

    confirmed = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE type = 'booking.confirmed' "
        "AND (payload->>'booking_id')::bigint = $1",
        booking["id"],
    )
    assert confirmed >= 1
    payment = await db.fetchrow("SELECT * FROM payments WHERE booking_id = $1", booking["id"])
    assert payment["status"] == "succeeded"
    assert payment["amount_cents"] == 2000
    assert (
        await db.fetchval(
            "SELECT count(*) FROM stripe_events WHERE type = 'payment_intent.succeeded'"
        )
        == 1
    )


async def test_the_client_cannot_set_the_amount_and_repeating_returns_the_same_intent(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    booking = await w.hold(at(50))
    r = await w.pay(booking["id"], json={"amount_cents": 1, "currency": "usd"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["amount_cents"], first["currency"]) == (1000, "EUR")

    intent = await stripe_client.v1.payment_intents.retrieve_async(first["payment_intent_id"])
    assert intent.amount == 1000
    assert intent.currency == "eur"
    assert intent.metadata["booking_id"] == str(booking["id"])
    assert intent.metadata["space_id"] == str(booking["space_id"])

    again = await w.pay(booking["id"], json={"amount_cents": 5})
    assert again.status_code == 200
    assert again.json()["payment_intent_id"] == first["payment_intent_id"]
    assert again.json()["client_secret"] == first["client_secret"]
    assert again.json()["amount_cents"] == 1000
    assert (
        await db.fetchval("SELECT count(*) FROM payments WHERE booking_id = $1", booking["id"]) == 1
    )

    # One Stripe customer per member, reused by their next booking.
    second = await w.hold(at(60))
    other_intent = (await w.pay(second["id"])).json()["payment_intent_id"]
    reused = await stripe_client.v1.payment_intents.retrieve_async(other_intent)
    assert reused.customer == intent.customer
    assert (
        await db.fetchval("SELECT stripe_customer_id FROM users WHERE id = $1", w.member_user.id)
        == intent.customer
    )


async def test_only_the_owner_pays_and_only_a_held_booking(pay_world: PayWorld):
    w = pay_world
    booking = await w.hold(at(52))
    r = await w.pay(booking["id"], headers=w.other)
    assert r.status_code == 404
    r = await w.http.post(
        f"/api/v1/spaces/{w.free_space.id}/bookings",
        json={"start": at(53).isoformat(), "end": at(54).isoformat()},
        headers=w.member,
    )
    assert r.json()["status"] == "confirmed"
    r = await w.pay(r.json()["id"])
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "booking_not_payable"
    r = await w.http.post(f"/api/v1/bookings/{booking['id']}/payment")
    assert r.status_code == 401


async def test_stripe_down_is_503_with_retry_after_and_the_booking_stays_held(
    settings, tmp_path, db
):
    child, url = start_localstripe(tmp_path / "run", port=free_port())
    child.stop()  # a Stripe that was there and is gone
    running, srv = await running_payments(with_stripe(replace(settings), url))
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            w = await PayWorld(running, http).setup()
            booking = await w.hold(at(48))
            r = await w.pay(booking["id"])
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "payments_unavailable"
            assert int(r.headers["retry-after"]) > 0
            assert await booking_status(w, booking["id"]) == "held"
            assert await db.fetchval("SELECT count(*) FROM payments") == 0
    finally:
        await stop_payments(srv, running)


async def test_payment_history_by_role(pay_world: PayWorld, stripe_client):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(70))

    mine = (await w.http.get("/api/v1/payments", headers=w.member)).json()
    assert [p["payment_intent_id"] for p in mine["items"]] == [intent_id]
    assert mine["items"][0]["status"] == "succeeded"
    assert mine["items"][0]["booking_id"] == booking["id"]
    assert mine["next_cursor"] is None
    assert (await w.http.get("/api/v1/payments", headers=w.other)).json()["items"] == []

    managed = await w.http.get("/api/v1/payments?scope=managed", headers=w.manager)
    assert [p["id"] for p in managed.json()["items"]] == [mine["items"][0]["id"]]
    stranger = await w.http.get("/api/v1/payments?scope=managed", headers=w.stranger_manager)
    assert stranger.json()["items"] == []
    admin = await w.http.get("/api/v1/payments?scope=managed", headers=w.admin)
    assert len(admin.json()["items"]) == 1
    r = await w.http.get("/api/v1/payments?scope=managed", headers=w.member)
    assert r.status_code == 403
