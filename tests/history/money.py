"""The money invariant: each cancellation refunds exactly what its policy says, once, and
Stripe holds the same refunds as we do."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import httpx

from cowork.domain.policy import DEFAULT_POLICY, CancellationPolicy, refund_percent
from cowork.payments.owed import cancel_key
from tests.conftest import TLS
from tests.history.record import Op
from tests.history.sources import BookingFact
from tests.polling import poll

PAID = ("succeeded", "partially_refunded", "refunded")


async def refunds_by_policy(
    scope: Any, cancels: list[Op], bookings: dict[int, BookingFact]
) -> list[str]:
    """Cancel ops carry meta booking_id (and staff=True when staff cancelled)."""
    cancels = [op for op in cancels if op.ok]
    if not cancels and scope.localstripe is None:
        return []
    try:
        await poll(lambda: _queued(scope), lambda n: n == 0, 60)
    except AssertionError:
        return ["refunds_by_policy: refunds were still queued at the end"]
    payments = await _payments(scope)
    refunds = await _live_refunds(scope, [p["id"] for p in payments.values()])
    out = []
    for op in cancels:
        payment = payments.get(op.meta["booking_id"])
        if payment is None or payment["status"] not in PAID:
            continue
        booking = bookings[op.meta["booking_id"]]
        owed = {payment["amount_cents"] * p // 100 for p in _percents(op, payment, booking)} - {0}
        mine = [
            r["amount_cents"]
            for r in refunds[payment["id"]]
            if r["idempotency_key"] == cancel_key(booking.id)
        ]
        if (owed and (len(mine) != 1 or mine[0] not in owed)) or (not owed and mine):
            out.append(
                f"refunds_by_policy: booking {booking.id} owed one of {sorted(owed) or [0]} "
                f"cents, refunds are {mine}"
            )
    for payment in payments.values():
        live = sorted(r["amount_cents"] for r in refunds[payment["id"]])
        if sum(live) != payment["refunded_cents"] or sum(live) > payment["amount_cents"]:
            out.append(
                f"refunds_by_policy: payment {payment['id']} counts "
                f"{payment['refunded_cents']} of {payment['amount_cents']} refunded; "
                f"its refunds sum to {sum(live)}"
            )
        if scope.localstripe is not None:
            at_stripe = await stripe_refunds(scope.localstripe, payment["intent"])
            if at_stripe != live:
                out.append(
                    f"refunds_by_policy: payment {payment['id']}: Stripe holds refunds "
                    f"{at_stripe}, we hold {live}"
                )
    return out


def _percents(op: Op, payment: Any, booking: BookingFact) -> set[int]:
    """The policy's percent when the cancel was asked or answered (a tier may pass between)."""
    if op.meta.get("staff"):
        return {100}
    raw = payment["policy"]
    raw = json.loads(raw) if isinstance(raw, str) else raw
    policy = CancellationPolicy.from_list(raw) if raw else DEFAULT_POLICY
    assert op.completed is not None
    return {
        refund_percent(policy, starts_at=booking.starts_at, now=t)
        for t in (op.invoked, op.completed)
    }


async def _queued(scope: Any) -> int:
    return int(await scope.db.fetchval("SELECT count(*) FROM refunds WHERE status = 'queued'"))


async def _payments(scope: Any) -> dict[int, Any]:
    rows = await scope.db.fetch(
        "SELECT p.id, p.booking_id, p.amount_cents, p.refunded_cents, p.status, "
        "p.stripe_payment_intent_id AS intent, l.cancellation_policy AS policy FROM payments p "
        "JOIN bookings b ON b.id = p.booking_id JOIN locations l ON l.id = b.location_id "
        "WHERE b.location_id = ANY($1::int[])",
        scope.location_ids,
    )
    return {r["booking_id"]: r for r in rows}


async def _live_refunds(scope: Any, payment_ids: list[int]) -> dict[int, list[Any]]:
    refunds: dict[int, list[Any]] = defaultdict(list)
    for r in await scope.db.fetch(
        "SELECT payment_id, amount_cents, idempotency_key FROM refunds "
        "WHERE payment_id = ANY($1::int[]) AND status NOT IN ('failed', 'canceled')",
        payment_ids,
    ):
        refunds[r["payment_id"]].append(r)
    return refunds


async def stripe_refunds(base: str, intent: str) -> list[int]:
    """The amounts of the refunds Stripe (localstripe) holds for an intent, sorted."""
    async with httpx.AsyncClient(base_url=base, timeout=10, verify=TLS) as http:
        r = await http.get(
            "/v1/refunds", params={"payment_intent": intent, "limit": 100}, auth=("sk_test_x", "")
        )
        r.raise_for_status()
        return sorted(
            int(x["amount"])
            for x in r.json()["data"]
            if x.get("status") not in ("failed", "canceled")
        )
