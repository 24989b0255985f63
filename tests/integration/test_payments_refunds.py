"""Refunds: cancellation tiers through the Refund API, staff refunds, retries after an outage."""

from __future__ import annotations

import pytest

from cowork.devstack import free_port
from cowork.payments.gateway import StripeGateway
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    at,
    poll,
    stripe_refunds,
    with_stripe,
)


@pytest.mark.parametrize(
    ("hours_before", "percent"), [(30, 100), (5, 50), (1, 0)], ids=["30h", "5h", "1h"]
)
async def test_cancellation_refunds_by_the_policy(
    pay_world: PayWorld, stripe_client, db, hours_before, percent
):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(hours_before))
    paid = 1000
    cancelled = await w.cancel(booking)
    assert cancelled["status"] == "cancelled"

    expected = paid * percent // 100
    # The refund is owed in the cancellation's own transaction; the retrier sends it at once.
    if expected:
        await poll(
            lambda: db.fetchval(
                "SELECT r.status FROM refunds r JOIN payments p ON p.id = r.payment_id"
                " WHERE p.booking_id = $1",
                booking["id"],
            ),
            lambda status: status == "succeeded",
        )
    assert sum(await stripe_refunds(stripe_client, intent_id)) == expected
    payment = await db.fetchrow("SELECT * FROM payments WHERE booking_id = $1", booking["id"])
    assert payment["amount_cents"] == paid
    assert payment["refunded_cents"] == expected
    assert payment["status"] == {100: "refunded", 50: "partially_refunded", 0: "succeeded"}[percent]
    refunds = await db.fetch("SELECT * FROM refunds WHERE payment_id = $1", payment["id"])
    notes = await db.fetchval(
        "SELECT count(*) FROM notifications WHERE booking_id = $1 AND type = 'booking.refunded'",
        booking["id"],
    )
    if expected:
        assert [(r["amount_cents"], r["status"]) for r in refunds] == [(expected, "succeeded")]
        assert refunds[0]["idempotency_key"] == f"refund-cancel-{booking['id']}"
        assert refunds[0]["stripe_refund_id"].startswith("re_")
        assert notes == 1
    else:
        assert refunds == []
        assert notes == 0

    history = (await w.http.get("/api/v1/payments", headers=w.member)).json()["items"][0]
    assert history["refunded_cents"] == expected
    assert [r["amount_cents"] for r in history["refunds"]] == ([expected] if expected else [])


async def test_staff_refund_any_amount_up_to_what_is_left(pay_world: PayWorld, stripe_client, db):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))
    payment_id = await db.fetchval("SELECT id FROM payments WHERE booking_id = $1", booking["id"])
    url = f"/api/v1/manage/payments/{payment_id}/refunds"

    assert (await w.http.post(url, json={"amount_cents": 100}, headers=w.member)).status_code == 403
    r = await w.http.post(url, json={"amount_cents": 100}, headers=w.stranger_manager)
    assert r.status_code == 403
    r = await w.http.post(url, json={"amount_cents": 0}, headers=w.manager)
    assert r.status_code == 422

    r = await w.http.post(
        url, json={"amount_cents": 250, "reason": "coffee machine broken"}, headers=w.manager
    )
    assert r.status_code == 201, r.text
    assert r.json()["refund"]["amount_cents"] == 250
    assert r.json()["payment"]["status"] == "partially_refunded"

    # A retried request (same Idempotency-Key) is the same refund.
    keyed = {**w.manager, "Idempotency-Key": "k-1"}
    first = await w.http.post(url, json={"amount_cents": 100}, headers=keyed)
    again = await w.http.post(url, json={"amount_cents": 100}, headers=keyed)
    assert first.json()["refund"]["id"] == again.json()["refund"]["id"]

    r = await w.http.post(url, json={"amount_cents": 651}, headers=w.admin)
    assert r.status_code == 409
    assert r.json()["code"] == "refund_exceeds_remaining"
    assert r.json()["refundable_cents"] == 650

    r = await w.http.post(url, json={"amount_cents": 650}, headers=w.admin)
    assert r.status_code == 201
    assert r.json()["payment"]["status"] == "refunded"
    assert sorted(await stripe_refunds(stripe_client, intent_id)) == [100, 250, 650]
    r = await w.http.post(url, json={"amount_cents": 1}, headers=w.manager)
    assert r.status_code == 409


async def test_a_refund_stripe_cannot_take_now_is_retried_later(
    pay_world: PayWorld, stripe_client, pay_settings, db
):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))

    # Stripe becomes unreachable for this node (same SDK, an address nobody listens on).
    payments = w.server.app.ctx.services.payments
    reachable = payments.gateway
    payments.gateway = StripeGateway(with_stripe(pay_settings, f"http://127.0.0.1:{free_port()}"))
    try:
        cancelled = await w.cancel(booking)
        assert cancelled["status"] == "cancelled"
        queued = await poll(
            lambda: db.fetchrow("SELECT * FROM refunds"),
            lambda row: row is not None and row["attempts"] >= 1,
        )
        assert queued["status"] == "queued"
        assert queued["stripe_refund_id"] is None
        assert queued["attempts"] >= 1
        assert await stripe_refunds(stripe_client, intent_id) == []
        payment = await db.fetchrow("SELECT * FROM payments WHERE booking_id = $1", booking["id"])
        assert payment["refunded_cents"] == 1000  # promised: nobody can refund it twice
    finally:
        await payments.gateway.close()
        payments.gateway = reachable

    # Stripe is back: the retry loop sends the queued refund with the same idempotency key.
    sent = await poll(
        lambda: db.fetchrow("SELECT * FROM refunds WHERE id = $1", queued["id"]),
        lambda row: row["status"] == "succeeded",
    )
    assert sent["stripe_refund_id"].startswith("re_")
    assert await stripe_refunds(stripe_client, intent_id) == [1000]
    payment = await db.fetchrow("SELECT * FROM payments WHERE booking_id = $1", booking["id"])
    assert (payment["refunded_cents"], payment["status"]) == (1000, "refunded")
    notes = await db.fetchval(
        "SELECT count(*) FROM notifications WHERE booking_id = $1 AND type = 'booking.refunded'",
        booking["id"],
    )
    assert notes == 1
