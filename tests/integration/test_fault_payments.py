"""Faults on the money path: identical webhooks at one instant, refunds racing the
refunded-amount check, refund retriers of two nodes after an outage, and a Stripe that answers
later than our timeout while members cancel. Each ends with the history checker's money
invariant: every cancellation refunds exactly its policy, once, and Stripe holds the same
refunds as we do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import httpx
import pytest

from cowork.payments.context import Payments
from cowork.payments.dev import register_local_webhook
from cowork.payments.refunds import RefundRetrier
from tests.faults import FAULTS, FaultProxy, tcp_upstream
from tests.faults.stripe import IdempotentStripe
from tests.history import History, Scope, check
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import (
    PayWorld,
    at,
    confirm_card,
    expire_hold,
    poll,
    running_payments,
    sign,
    signed_event,
    stop_payments,
    stripe_refunds,
    with_stripe,
)


@pytest.fixture
async def stripe_path(localstripe: str) -> AsyncIterator[tuple[FaultProxy, IdempotentStripe]]:
    """node → FaultProxy → Stripe's idempotency → localstripe."""
    keys = IdempotentStripe(localstripe).start()
    proxy = FaultProxy(tcp_upstream(keys.port), name="stripe").start()
    yield proxy, keys
    proxy.stop()
    keys.stop()


async def world_on(settings, api_base: str, **overrides) -> tuple[PayWorld, object, object]:
    s = replace(with_stripe(settings, api_base), **overrides)
    running, srv = await running_payments(s)
    await register_local_webhook(s)
    http = httpx.AsyncClient(base_url=running.url, timeout=60)
    return await PayWorld(running, http).setup(), srv, http


async def webhook_all(w: PayWorld, payload: str, copies: int) -> list[int]:
    """The same signed delivery `copies` times at once."""
    signature = sign(payload)
    replies = await asyncio.gather(*(w.webhook(payload, signature) for _ in range(copies)))
    return [r.status_code for r in replies]


def intent(intent_id: str, amount: int = 1000) -> dict:
    return {"id": intent_id, "object": "payment_intent", "amount": amount, "currency": "eur"}


async def test_identical_webhooks_at_once_confirm_once(pay_world: PayWorld, db):
    w = pay_world
    booking = await w.hold(at(48))
    intent_id = (await w.pay(booking["id"])).json()["payment_intent_id"]
    payload, event_id = signed_event("payment_intent.succeeded", intent(intent_id))

    assert await webhook_all(w, payload, 6) == [200] * 6
    confirmed = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE type = 'booking.confirmed' AND user_id IS NULL "
        "AND (payload->>'booking_id')::bigint = $1",
        booking["id"],
    )
    assert confirmed == 1
    assert await db.fetchval("SELECT count(*) FROM stripe_events WHERE id = $1", event_id) == 1
    assert (
        await db.fetchval("SELECT status FROM payments WHERE booking_id = $1", booking["id"])
        == "succeeded"
    )


async def test_identical_late_payments_at_once_refund_once(pay_world: PayWorld, stripe_client, db):
    """Paid after the hold lapsed and the slot went to someone else: every copy of the event
    (ours at once, and localstripe's own) must add up to one full refund."""
    w = pay_world
    start = at(48)
    booking = await w.hold(start)
    intent_id = (await w.pay(booking["id"])).json()["payment_intent_id"]
    await expire_hold(w, db, booking)
    await w.hold(start, who=w.other)
    await confirm_card(stripe_client, intent_id)  # localstripe sends its own event too
    payload, _ = signed_event("payment_intent.succeeded", intent(intent_id))

    assert await webhook_all(w, payload, 6) == [200] * 6
    await poll(lambda: stripe_refunds(stripe_client, intent_id), lambda r: r == [1000])
    await poll(  # localstripe's own delivery has been handled too
        lambda: db.fetchval("SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_%'"),
        lambda n: n >= 1,
    )
    assert await stripe_refunds(stripe_client, intent_id) == [1000]
    ends = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE type = 'booking.cancelled' AND user_id IS NULL "
        "AND (payload->>'booking_id')::bigint = $1",
        booking["id"],
    )
    assert ends == 1


async def test_concurrent_refunds_never_exceed_what_was_paid(
    pay_world: PayWorld, stripe_client, db, localstripe
):
    w = pay_world
    booking, intent_id = await w.paid_booking(stripe_client, at(48))
    payment_id = await db.fetchval("SELECT id FROM payments WHERE booking_id = $1", booking["id"])
    url = f"{w.server.url}/api/v1/manage/payments/{payment_id}/refunds"
    history = History()
    async with aiohttp.ClientSession() as http:
        ops = await asyncio.gather(
            *(
                history.call(
                    http,
                    "refund",
                    "POST",
                    url,
                    json_body={"amount_cents": 300},
                    headers=w.manager,
                    booking_id=booking["id"],
                )
                for _ in range(8)
            )
        )
    made = [op for op in ops if op.status == 201]
    refused = [op for op in ops if op.status == 409]
    assert len(made) == 3 and len(refused) == 5, [op.status for op in ops]
    assert {op.code for op in refused} == {"refund_exceeds_remaining"}
    report = await check(history, Scope(db, w.s.nats_url, [w.loc.id], localstripe=localstripe))
    assert report.ok, report
    assert sorted(await stripe_refunds(stripe_client, intent_id)) == [300, 300, 300]


async def cancel_all(w: PayWorld, history: History, bookings: list[dict]) -> list:
    async with aiohttp.ClientSession() as client:
        return await asyncio.gather(
            *(
                history.call(
                    client,
                    "cancel",
                    "POST",
                    f"{w.server.url}/api/v1/spaces/{b['space_id']}/bookings/{b['id']}/cancel",
                    headers=w.member,
                    booking_id=b["id"],
                )
                for b in bookings
            )
        )


async def test_refund_retriers_of_two_nodes_send_each_queued_refund_once(
    settings, localstripe, stripe_client, db
):
    """Stripe down while members cancel: refunds queue. Stripe back: the node's retrier and a
    second node's retrier sweep together; the lease must keep them off each other's refunds.
    Straight to localstripe (no idempotency layer): a second send is a second refund."""
    stripe = FaultProxy(tcp_upstream(int(localstripe.rsplit(":", 1)[1])), name="stripe").start()
    w, srv, http = await world_on(settings, f"http://{stripe.address}")
    node = w.server.app.ctx.services
    other = Payments(node.settings, node.registry, node.relay.wake)  # another node's payments
    second = RefundRetrier(other)  # and its retry loop, on the same database
    try:
        paid = [await w.paid_booking(stripe_client, at(30 + 2 * i)) for i in range(5)]
        mark = FAULTS.mark()
        stripe.refuse()
        history = History()
        cancels = await cancel_all(w, history, [booking for booking, _ in paid])
        assert [op.status for op in cancels] == [200] * 5
        assert await db.fetchval("SELECT count(*) FROM refunds WHERE status = 'queued'") == 5
        stripe.heal()
        swept = 0

        async def sweep() -> int:
            nonlocal swept
            swept += await second.run_once()
            return await db.fetchval("SELECT count(*) FROM refunds WHERE status = 'queued'")

        await poll(sweep, lambda queued: queued == 0)
        scope = Scope(db, w.s.nats_url, [w.loc.id], localstripe=localstripe)
        report = await check(history, scope, faults=FAULTS.since(mark))
        print(f"\nrefund retriers of two nodes ({swept} of 5 sent by the second): {report}")
        assert report.ok, report
        for _, intent_id in paid:
            assert await stripe_refunds(stripe_client, intent_id) == [1000]
    finally:
        await other.close()
        await http.aclose()
        await stop_payments(srv, w.server)
        stripe.stop()


# Stripe slower than our gateway's timeout: every byte LATE seconds late, so no answer comes
# back in under twice LATE while the gateway gives up after TIMEOUT (and the SDK's one retry).
# The shape of the fault is LATE > TIMEOUT, not the absolute numbers: refunds go out one at a
# time, each waiting out two timeouts, so these set most of the test's length.
TIMEOUT = 2.0
LATE = 4.0


@pytest.mark.slow
async def test_stripe_slower_than_our_timeout_during_cancels_refunds_each_once_by_policy(
    settings, stripe_path, localstripe, stripe_client, db
):
    """Every byte to and from Stripe later than the gateway's timeout: the gateway times out
    (and the SDK retries once, same key) while Stripe makes the refund anyway. Cancels still
    answer; later retries find the refund Stripe made instead of making another; each equals
    the policy's percent."""
    proxy, keys = stripe_path
    w, srv, http = await world_on(
        settings, f"http://{proxy.address}", stripe_timeout_seconds=TIMEOUT
    )
    try:
        paid = [await w.paid_booking(stripe_client, at(h)) for h in (30, 5, 40, 7)]
        history = History()
        mark = FAULTS.mark()
        proxy.delay(LATE)
        cancels = await cancel_all(w, history, [booking for booking, _ in paid])
        assert [op.status for op in cancels] == [200] * 4
        # Stay slow until Stripe has made every refund: each was made while our side waited
        # and timed out (no answer can come back in under twice LATE), so our records must learn
        # of it from a later retry, not from the answer.
        await poll(
            lambda: asyncio.gather(*(stripe_refunds(stripe_client, i) for _, i in paid)),
            lambda found: all(found),
            timeout=90,
        )
        unanswered = await db.fetchval(
            "SELECT count(*) FROM refunds WHERE status = 'queued' AND stripe_refund_id IS NULL"
        )
        proxy.heal()
        report = await check(
            history,
            Scope(db, w.s.nats_url, [w.loc.id], localstripe=localstripe),
            faults=FAULTS.since(mark),
        )
        print(
            f"\nStripe {LATE:.0f} s late during cancels ({unanswered} refunds made while we "
            f"timed out after {TIMEOUT:.0f} s, "
            f"{keys.replayed} retries deduped by key): {report}"
        )
        assert report.ok, report
        amounts = [await stripe_refunds(stripe_client, intent_id) for _, intent_id in paid]
        assert amounts == [[1000], [500], [1000], [500]]
        assert unanswered == 4  # every refund existed at Stripe before we knew its id
    finally:
        await http.aclose()
        await stop_payments(srv, w.server)
