"""Cancelling this occurrence and the following refunds each by its own tier (localstripe).

Fault it catches: a series cancel refunded as one booking (every occurrence at the first
one's tier, or nothing), a refund lost because several were owed in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import PayWorld, booking_status, confirm_card, poll, stripe_refunds

ROME = ZoneInfo("Europe/Rome")
TIERS = [{"hours_before": 120, "percent": 100}, {"hours_before": 72, "percent": 50}]


async def test_cancel_this_and_following_refunds_each_by_its_tier(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    w.loc.cancellation_policy = TIERS
    await w.loc.save()
    first = (datetime.now(UTC) + timedelta(hours=56)).astimezone(ROME)
    first = first.replace(minute=first.minute // 15 * 15, second=0, microsecond=0)
    body = {
        "rrule": "FREQ=DAILY;COUNT=4",
        "first_date": first.date().isoformat(),
        "start_time": first.strftime("%H:%M"),
        "duration_minutes": 60,
    }
    r = await w.http.post(f"/api/v1/spaces/{w.space.id}/series", json=body, headers=w.member)
    assert r.status_code == 201, r.text
    made = r.json()
    bookings = [o["booking"] for o in made["occurrences"]]
    assert [b["status"] for b in bookings] == ["held"] * 4
    intents = []
    for booking in bookings:  # paid per occurrence, like any hold
        paid = await w.pay(booking["id"])
        assert paid.status_code == 201, paid.text
        intents.append(paid.json()["payment_intent_id"])
        await confirm_card(stripe_client, intents[-1])
    for booking in bookings:
        await poll(lambda b=booking: booking_status(w, b["id"]), lambda st: st == "confirmed")

    # ~80 h, ~104 h and ~128 h ahead: 50 %, 50 %, 100 % of 1000 each
    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/series/{made['id']}/cancel",
        json={"scope": "following", "booking_id": bookings[1]["id"]},
        headers=w.member,
    )
    assert r.status_code == 200, r.text
    cancelled = r.json()["cancelled"]
    assert [(c["booking_id"], c["refund_percent"], c["refund_cents"]) for c in cancelled] == [
        (bookings[1]["id"], 50, 500),
        (bookings[2]["id"], 50, 500),
        (bookings[3]["id"], 100, 1000),
    ]
    for intent, expected in zip(intents[1:], (500, 500, 1000), strict=True):
        await poll(
            lambda i=intent: stripe_refunds(stripe_client, i), lambda got, e=expected: got == [e]
        )
    assert await booking_status(w, bookings[0]["id"]) == "confirmed"
    assert await stripe_refunds(stripe_client, intents[0]) == []

    # the first, ~56 h ahead: under 72 h, nothing back
    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/series/{made['id']}/cancel",
        json={"scope": "one", "booking_id": bookings[0]["id"]},
        headers=w.member,
    )
    assert [c["refund_percent"] for c in r.json()["cancelled"]] == [0]
    rows = await db.fetch(
        "SELECT p.booking_id, r.amount_cents FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " ORDER BY p.booking_id"
    )
    assert [(x["booking_id"], x["amount_cents"]) for x in rows] == [
        (bookings[1]["id"], 500),
        (bookings[2]["id"], 500),
        (bookings[3]["id"], 1000),
    ]
