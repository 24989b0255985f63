"""Paying a series up front: one PaymentIntent, one payments row per occurrence (localstripe).

Faults it catches: an intent that confirms only its first occurrence; a wrong total that
confirms anything; an occurrence cancelled before the money arrives confirmed or refunded
with the others; cancel this-and-following refunding the series as one booking; a
redelivered event refunding or confirming twice; a dashboard refund on a shared intent
credited to an arbitrary occurrence; an occurrence paid twice (alone and with its series);
another member or a manager starting someone's payment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cowork.payments import series_records
from cowork.payments.series_records import Share
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    booking_status,
    confirm_card,
    poll,
    sign,
    signed_event,
    stripe_refunds,
)

ROME = ZoneInfo("Europe/Rome")


async def _series(w: PayWorld, count: int, hours_ahead: float = 30) -> dict[str, Any]:
    first = (datetime.now(UTC) + timedelta(hours=hours_ahead)).astimezone(ROME)
    first = first.replace(minute=first.minute // 15 * 15, second=0, microsecond=0)
    body = {
        "rrule": f"FREQ=DAILY;COUNT={count}",
        "first_date": first.date().isoformat(),
        "start_time": first.strftime("%H:%M"),
        "duration_minutes": 60,
    }
    r = await w.http.post(f"/api/v1/spaces/{w.space.id}/series", json=body, headers=w.member)
    assert r.status_code == 201, r.text
    made = dict(r.json())
    assert [o["booking"]["status"] for o in made["occurrences"]] == ["held"] * count
    return made


def _ids(series: dict[str, Any]) -> list[int]:
    return [o["booking"]["id"] for o in series["occurrences"]]


async def _pay_series(w: PayWorld, series_id: int, who: dict[str, str] | None = None) -> Any:
    headers = w.member if who is None else who
    return await w.http.post(f"/api/v1/series/{series_id}/payment", headers=headers)


async def _statuses(w: PayWorld, ids: list[int]) -> list[str]:
    return [await booking_status(w, i) for i in ids]


async def _rows(db: Any, ids: list[int]) -> list[tuple[int, int, int, str]]:
    rows = await db.fetch(
        "SELECT booking_id, amount_cents, refunded_cents, status FROM payments "
        "WHERE booking_id = ANY($1::bigint[]) ORDER BY booking_id",
        ids,
    )
    return [(r["booking_id"], r["amount_cents"], r["refunded_cents"], r["status"]) for r in rows]


async def test_one_intent_confirms_every_occurrence_and_a_redelivery_changes_nothing(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    made = await _series(w, 3)
    ids = _ids(made)
    r = await _pay_series(w, made["id"])
    assert r.status_code == 201, r.text
    paid = r.json()
    assert (paid["amount_cents"], paid["currency"]) == (3000, "EUR")
    assert [o["booking_id"] for o in paid["occurrences"]] == ids
    assert [o["amount_cents"] for o in paid["occurrences"]] == [1000] * 3
    again = await _pay_series(w, made["id"])  # a retry returns the same intent
    assert (again.status_code, again.json()["payment_intent_id"]) == (
        200,
        paid["payment_intent_id"],
    )
    alone = await w.pay(ids[0])  # an occurrence of it cannot also be paid alone
    assert (alone.status_code, alone.json()["code"]) == (409, "booking_not_payable")
    assert alone.json()["series_id"] == made["id"]

    await confirm_card(stripe_client, paid["payment_intent_id"])
    await poll(lambda: _statuses(w, ids), lambda got: got == ["confirmed"] * 3)
    expected = [(i, 1000, 0, "succeeded") for i in ids]
    assert await _rows(db, ids) == expected
    history = await w.http.get("/api/v1/payments", headers=w.member)
    assert {p["series_id"] for p in history.json()["items"]} == {made["id"]}

    # Another delivery of the same success (a new event id: not deduplicated by id) is a
    # no-op row by row: nothing refunded, nothing confirmed twice.
    intent = {
        "id": paid["payment_intent_id"],
        "object": "payment_intent",
        "amount": 3000,
        "amount_received": 3000,
        "currency": "eur",
    }
    payload, _ = signed_event("payment_intent.succeeded", intent)
    r = await w.webhook(payload, sign(payload))
    assert (r.status_code, r.json()["outcome"]) == (200, "processed")
    assert await _rows(db, ids) == expected
    assert await stripe_refunds(stripe_client, paid["payment_intent_id"]) == []
    confirmed = await db.fetchval(
        "SELECT count(*) FROM notifications WHERE type = 'booking.confirmed' "
        "AND booking_id = ANY($1)",
        ids,
    )
    assert confirmed == 3
    nothing = await _pay_series(w, made["id"])
    assert (nothing.status_code, nothing.json()["code"]) == (409, "series_not_payable")


async def test_a_wrong_total_refunds_every_occurrence(pay_world: PayWorld, stripe_client, db):
    w = pay_world
    made = await _series(w, 2)
    ids = _ids(made)
    intent_id = (await _pay_series(w, made["id"])).json()["payment_intent_id"]
    # The intent collects 1500 instead of 2000 (changed behind our back).
    await stripe_client.v1.payment_intents.update_async(intent_id, {"amount": 1500})
    await confirm_card(stripe_client, intent_id)

    await poll(lambda: _statuses(w, ids), lambda got: got == ["cancelled"] * 2)
    refunds = await poll(lambda: stripe_refunds(stripe_client, intent_id), lambda a: len(a) == 2)
    assert sorted(refunds) == [500, 1000]  # what was collected goes back, no more
    reasons = await db.fetch("SELECT cancel_reason FROM bookings WHERE id = ANY($1)", ids)
    assert {r["cancel_reason"] for r in reasons} == {"payment_mismatch"}
    # Each row says what it collected and gave back; the cancellations owed nothing more.
    assert await _rows(db, ids) == [
        (ids[0], 1000, 1000, "refunded"),
        (ids[1], 500, 500, "refunded"),
    ]
    assert sorted(await stripe_refunds(stripe_client, intent_id)) == [500, 1000]


async def test_an_occurrence_cancelled_before_the_money_is_refunded_alone(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    made = await _series(w, 3)
    ids = _ids(made)
    intent_id = (await _pay_series(w, made["id"])).json()["payment_intent_id"]
    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/series/{made['id']}/cancel",
        json={"scope": "one", "booking_id": ids[1]},
        headers=w.member,
    )
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"][0]["refund_cents"] == 0  # nothing paid yet

    await confirm_card(stripe_client, intent_id)  # pays the 3000 asked for all three
    await poll(
        lambda: _statuses(w, ids), lambda got: got == ["confirmed", "cancelled", "confirmed"]
    )
    assert await poll(lambda: stripe_refunds(stripe_client, intent_id), bool) == [1000]
    assert await poll(lambda: _rows(db, ids), lambda rows: rows[1][3] == "refunded") == [
        (ids[0], 1000, 0, "succeeded"),
        (ids[1], 1000, 1000, "refunded"),
        (ids[2], 1000, 0, "succeeded"),
    ]


async def test_cancel_this_and_following_refunds_each_tier_from_the_one_intent(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    w.loc.cancellation_policy = [
        {"hours_before": 120, "percent": 100},
        {"hours_before": 72, "percent": 50},
    ]
    await w.loc.save()
    made = await _series(w, 4, hours_ahead=56)
    ids = _ids(made)
    intent_id = (await _pay_series(w, made["id"])).json()["payment_intent_id"]
    await confirm_card(stripe_client, intent_id)
    await poll(lambda: _statuses(w, ids), lambda got: got == ["confirmed"] * 4)

    r = await w.http.post(
        f"/api/v1/spaces/{w.space.id}/series/{made['id']}/cancel",
        json={"scope": "following", "booking_id": ids[1]},
        headers=w.member,
    )
    assert r.status_code == 200, r.text
    # ~80 h, ~104 h and ~128 h ahead: 50 %, 50 %, 100 % of 1000 each, all from one intent
    assert [c["refund_cents"] for c in r.json()["cancelled"]] == [500, 500, 1000]
    refunds = await poll(lambda: stripe_refunds(stripe_client, intent_id), lambda a: len(a) == 3)
    assert sorted(refunds) == [500, 500, 1000]
    assert await poll(lambda: _rows(db, ids), lambda rows: rows[3][3] == "refunded") == [
        (ids[0], 1000, 0, "succeeded"),
        (ids[1], 1000, 500, "partially_refunded"),
        (ids[2], 1000, 500, "partially_refunded"),
        (ids[3], 1000, 1000, "refunded"),
    ]

    # A refund made in Stripe's dashboard on the shared intent names no occurrence: it is
    # logged for staff, never credited to one of them.
    charge = {
        "id": "ch_series_dashboard",
        "object": "charge",
        "payment_intent": intent_id,
        "amount": 4000,
        "amount_refunded": 2300,
        "refunds": {
            "object": "list",
            "data": [
                {
                    "id": "re_series_dashboard",
                    "object": "refund",
                    "amount": 300,
                    "status": "succeeded",
                    "payment_intent": intent_id,
                    "metadata": {},
                }
            ],
        },
    }
    payload, _ = signed_event("charge.refunded", charge)
    assert (await w.webhook(payload, sign(payload))).status_code == 200
    assert (await _rows(db, ids))[0] == (ids[0], 1000, 0, "succeeded")
    assert (
        await db.fetchval(
            "SELECT count(*) FROM refunds WHERE payment_id IN "
            "(SELECT id FROM payments WHERE booking_id = ANY($1))",
            ids,
        )
        == 3
    )


async def test_an_occurrence_paid_alone_is_left_out_and_never_paid_twice(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    made = await _series(w, 3)
    ids = _ids(made)
    alone = await w.pay(ids[0])
    assert alone.status_code == 201, alone.text
    r = await _pay_series(w, made["id"])
    assert r.status_code == 201, r.text
    assert [o["booking_id"] for o in r.json()["occurrences"]] == ids[1:]
    assert r.json()["amount_cents"] == 2000

    # The race the checkout guards: rows for an intent that covers an occurrence with a
    # payment of its own are refused all together.
    kept = await series_records.insert_series_payments(
        series_id=made["id"],
        user_id=w.member_user.id,
        intent_id="pi_racing",
        client_secret="pi_racing_secret",
        currency="EUR",
        shares=[Share(ids[0], 1000), Share(ids[1], 1000)],
    )
    assert kept is None
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments WHERE stripe_payment_intent_id = 'pi_racing'"
        )
        == 0
    )


async def test_a_failed_series_payment_releases_every_held_occurrence(
    pay_world: PayWorld, stripe_client, db
):
    w = pay_world
    made = await _series(w, 2)
    ids = _ids(made)
    intent_id = (await _pay_series(w, made["id"])).json()["payment_intent_id"]
    failed = {"id": intent_id, "object": "payment_intent", "amount": 2000, "currency": "eur"}
    payload, _ = signed_event("payment_intent.payment_failed", failed)
    assert (await w.webhook(payload, sign(payload))).status_code == 200
    assert await _statuses(w, ids) == ["cancelled"] * 2
    reasons = await db.fetch("SELECT cancel_reason FROM bookings WHERE id = ANY($1)", ids)
    assert {r["cancel_reason"] for r in reasons} == {"payment_failed"}


async def test_only_the_series_member_can_pay_it(pay_world: PayWorld):
    w = pay_world
    made = await _series(w, 2)
    for who, status, code in (
        ({}, 401, "unauthorized"),
        (w.other, 404, "series_not_found"),
        (w.manager, 404, "series_not_found"),
        (w.admin, 404, "series_not_found"),
    ):
        r = await _pay_series(w, made["id"], who=who)
        assert (r.status_code, r.json()["code"]) == (status, code), who
    missing = await _pay_series(w, 2**62)
    assert (missing.status_code, missing.json()["code"]) == (404, "series_not_found")
    headers = {**w.member, "content-type": "application/json"}
    r = await w.http.post(f"/api/v1/series/{made['id']}/payment", content=b"{", headers=headers)
    assert r.status_code == 400
