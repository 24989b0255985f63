"""Stripe webhooks: signatures, duplicates, any order, and payments that arrive too late."""

from __future__ import annotations

import time

from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    at,
    booking_status,
    confirm_card,
    expire_hold,
    poll,
    sign,
    signed_event,
    stripe_refunds,
)


async def _held_and_priced(w: PayWorld, hours_ahead: float):
    booking = await w.hold(at(hours_ahead))
    r = await w.pay(booking["id"])
    assert r.status_code == 201, r.text
    return booking, r.json()["payment_intent_id"]


def _intent(intent_id: str, amount: int = 1000) -> dict:
    return {"id": intent_id, "object": "payment_intent", "amount": amount, "currency": "eur"}


async def test_bad_signatures_are_400_and_change_nothing(pay_world: PayWorld, db):
    w = pay_world
    booking, intent_id = await _held_and_priced(w, 48)
    payload, _ = signed_event("payment_intent.succeeded", _intent(intent_id))

    cases = {
        "wrong secret": sign(payload, secret="whsec_other"),
        "missing header": None,
        "stale timestamp": sign(payload, timestamp=int(time.time()) - 301),
        "garbage header": "t=abc,v1=zz",
        "tampered body": sign(payload.replace("1000", "1")),
    }
    for case, signature in cases.items():
        r = await w.webhook(payload, signature)
        assert r.status_code == 400, (case, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), case
        assert r.json()["code"] == "invalid_signature", case

    assert await booking_status(w, booking["id"]) == "held"
    assert await db.fetchval("SELECT count(*) FROM stripe_events") == 0
    assert (
        await db.fetchval("SELECT status FROM payments WHERE booking_id = $1", booking["id"])
        == "requires_payment"
    )


async def test_the_same_event_twice_is_processed_once(pay_world: PayWorld, db):
    w = pay_world
    booking, intent_id = await _held_and_priced(w, 48)
    payload, event_id = signed_event("payment_intent.succeeded", _intent(intent_id))

    first = await w.webhook(payload, sign(payload))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "processed"
    second = await w.webhook(payload, sign(payload))
    assert second.status_code == 200
    assert second.json()["outcome"] == "duplicate"

    assert await booking_status(w, booking["id"]) == "confirmed"
    assert await db.fetchval("SELECT count(*) FROM stripe_events WHERE id = $1", event_id) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'booking.confirmed' AND user_id IS NOT NULL "
            "AND (payload->>'booking_id')::bigint = $1",
            booking["id"],
        )
        == 1
    )
    # Another delivery with a new id (Stripe retried after our crash) is a no-op too.
    again, _ = signed_event("payment_intent.succeeded", _intent(intent_id))
    assert (await w.webhook(again, sign(again))).json()["outcome"] == "processed"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'booking.confirmed' AND user_id IS NOT NULL "
            "AND (payload->>'booking_id')::bigint = $1",
            booking["id"],
        )
        == 1
    )


async def test_unknown_event_types_are_acknowledged_and_ignored(pay_world: PayWorld, db):
    w = pay_world
    payload, event_id = signed_event("customer.created", {"id": "cus_x", "object": "customer"})
    r = await w.webhook(payload, sign(payload))
    assert r.status_code == 200
    assert r.json()["outcome"] == "ignored"
    assert await db.fetchval("SELECT type FROM stripe_events WHERE id = $1", event_id) == (
        "customer.created"
    )


async def test_a_failure_after_success_does_not_undo_the_confirmation(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))
    payload, _ = signed_event("payment_intent.payment_failed", _intent(intent_id))
    r = await w.webhook(payload, sign(payload))
    assert r.status_code == 200, r.text
    assert await booking_status(w, booking["id"]) == "confirmed"
    assert (
        await db.fetchval("SELECT status FROM payments WHERE booking_id = $1", booking["id"])
        == "succeeded"
    )


async def test_a_failed_payment_releases_the_hold(pay_world: PayWorld, db):
    w = pay_world
    booking, intent_id = await _held_and_priced(w, 48)
    payload, _ = signed_event("payment_intent.payment_failed", _intent(intent_id))
    r = await w.webhook(payload, sign(payload))
    assert r.status_code == 200, r.text
    assert await booking_status(w, booking["id"]) == "cancelled"
    row = await db.fetchrow("SELECT cancel_reason FROM bookings WHERE id = $1", booking["id"])
    assert row["cancel_reason"] == "payment_failed"
    assert (
        await db.fetchval("SELECT status FROM payments WHERE booking_id = $1", booking["id"])
        == "failed"
    )


async def test_paid_after_expiry_with_the_slot_still_free_confirms(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    booking, intent_id = await _held_and_priced(w, 48)
    await expire_hold(w, db, booking)
    await confirm_card(stripe_client, intent_id)
    await poll(lambda: booking_status(w, booking["id"]), lambda st: st == "confirmed")
    # The payment row is settled in the webhook's last transaction, just after the confirm.
    await poll(
        lambda: db.fetchval("SELECT status FROM payments WHERE booking_id = $1", booking["id"]),
        lambda status: status == "succeeded",
    )
    assert await stripe_refunds(stripe_client, intent_id) == []


async def test_paid_after_expiry_with_the_slot_taken_refunds_in_full(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    start = at(48)
    booking, intent_id = await _held_and_priced(w, 48)
    await expire_hold(w, db, booking)
    await w.hold(start, who=w.other)  # someone else takes the lapsed slot

    await confirm_card(stripe_client, intent_id)

    async def refunded() -> list[int]:
        return await stripe_refunds(stripe_client, intent_id)

    assert await poll(refunded, bool) == [1000]
    await poll(lambda: booking_status(w, booking["id"]), lambda st: st == "cancelled")
    row = await db.fetchrow("SELECT cancel_reason FROM bookings WHERE id = $1", booking["id"])
    assert row["cancel_reason"] == "slot_lost"
    payment = await poll(
        lambda: db.fetchrow("SELECT * FROM payments WHERE booking_id = $1", booking["id"]),
        lambda p: p["status"] == "refunded",
    )
    assert payment["refunded_cents"] == 1000
    note = await poll(
        lambda: db.fetchrow(
            "SELECT * FROM notifications WHERE booking_id = $1 AND type = 'booking.refunded'",
            booking["id"],
        ),
        lambda n: n is not None,
    )
    assert note["user_id"] == w.member_user.id
    event_id = await poll(
        lambda: db.fetchval(
            "SELECT id FROM stripe_events WHERE type = 'payment_intent.succeeded' LIMIT 1"
        ),
        lambda found: found is not None,
    )
    # The same event delivered again (Stripe retries until it sees a 2xx) refunds nothing more,
    # and neither does another event about the same payment.
    again, _ = signed_event("payment_intent.succeeded", _intent(intent_id), event_id=event_id)
    r = await w.webhook(again, sign(again))
    assert (r.status_code, r.json()["outcome"]) == (200, "duplicate")
    other, _ = signed_event("payment_intent.succeeded", _intent(intent_id))
    r = await w.webhook(other, sign(other))
    assert (r.status_code, r.json()["outcome"]) == (200, "processed")
    assert await refunded() == [1000]
    assert await db.fetchval("SELECT count(*) FROM refunds") == 1


async def test_refund_events_update_the_records(pay_world: PayWorld, stripe_client, db):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))
    payment_id = await db.fetchval("SELECT id FROM payments WHERE booking_id = $1", booking["id"])
    r = await w.http.post(
        f"/api/v1/manage/payments/{payment_id}/refunds",
        json={"amount_cents": 300, "reason": "noisy room"},
        headers=w.manager,
    )
    assert r.status_code == 201, r.text
    refund = r.json()["refund"]

    # Stripe reports later that the refund failed: its cents become refundable again.
    failed = {
        "id": refund["stripe_refund_id"],
        "object": "refund",
        "amount": 300,
        "status": "failed",
        "payment_intent": intent_id,
        "metadata": {},
    }
    payload, _ = signed_event("refund.updated", failed)
    assert (await w.webhook(payload, sign(payload))).status_code == 200
    payment = await db.fetchrow("SELECT * FROM payments WHERE id = $1", payment_id)
    assert (payment["refunded_cents"], payment["status"]) == (0, "succeeded")
    assert await db.fetchval("SELECT status FROM refunds WHERE id = $1", refund["id"]) == "failed"

    # A refund made in Stripe's dashboard shows up through charge.refunded.
    charge = {
        "id": "ch_dashboard",
        "object": "charge",
        "payment_intent": intent_id,
        "amount": 1000,
        "amount_refunded": 400,
        "refunds": {
            "object": "list",
            "data": [
                {
                    "id": "re_dashboard",
                    "object": "refund",
                    "amount": 400,
                    "status": "succeeded",
                    "payment_intent": intent_id,
                    "metadata": {},
                },
            ],
        },
    }
    payload, _ = signed_event("charge.refunded", charge)
    assert (await w.webhook(payload, sign(payload))).status_code == 200
    payment = await db.fetchrow("SELECT * FROM payments WHERE id = $1", payment_id)
    assert (payment["refunded_cents"], payment["status"]) == (400, "partially_refunded")
    assert (
        await db.fetchval(
            "SELECT amount_cents FROM refunds WHERE stripe_refund_id = 're_dashboard'"
        )
        == 400
    )
