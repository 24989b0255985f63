"""Stripe webhooks: verify the raw body, act once per event id, in whatever order they come.

The booking's change happens in its space actor's transaction, ours in another, so an event
is recorded in `stripe_events` only in the transaction of its *last* effect. A crash in
between means Stripe delivers again and every step is a no-op the second time: Confirm of a
confirmed booking is skipped, refunds are keyed, payment updates are conditional.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from tortoise.transactions import in_transaction

from cowork.actors.commands import SYSTEM, Cancel, Confirm, Release
from cowork.domain.errors import (
    BookingChangedError,
    DomainError,
    InvalidTransitionError,
    PaymentMismatchError,
    SlotTakenError,
)
from cowork.domain.policy import SystemReason
from cowork.domain.problems import Problem
from cowork.domain.states import BookingStatus
from cowork.payments import records
from cowork.payments.context import Payments
from cowork.payments.records import PaymentRow
from cowork.payments.refunds import request_refund, tell_member, void_key
from cowork.store import audit
from cowork.store.bookings import BookingRow, get_booking

log = logging.getLogger("cowork.payments.webhooks")

TOLERANCE_SECONDS = 300
# Why a payment is refunded in full instead of confirming its booking.
SLOT_LOST = SystemReason.SLOT_LOST.value  # paid after the hold lapsed, the slot was taken
MISMATCH = SystemReason.PAYMENT_MISMATCH.value  # the amount or currency paid is not the price
VOID = "booking_void"  # the booking was cancelled before the money arrived
SETTLED = frozenset(
    {
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    }
)
Handler = Callable[[Payments, dict[str, Any]], Awaitable[None]]


class InvalidSignatureError(DomainError):
    problem = Problem.INVALID_SIGNATURE


class WebhooksNotConfiguredError(DomainError):
    problem = Problem.WEBHOOKS_NOT_CONFIGURED


def verify(payload: bytes, header: str | None, secret: str) -> dict[str, Any]:
    """The event, if `header` signs `payload` with `secret` within the tolerance."""
    if not secret:
        raise WebhooksNotConfiguredError("STRIPE_WEBHOOK_SECRET is not set on this node.")
    if not header:
        raise InvalidSignatureError("The Stripe-Signature header is missing.")
    try:
        stripe.Webhook.construct_event(payload, header, secret, tolerance=TOLERANCE_SECONDS)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignatureError("The signature does not match or is too old.") from exc
    except ValueError as exc:
        raise InvalidSignatureError("The signed body is not a JSON event.") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidSignatureError("The signed body is not a Stripe event.")
    return event


async def handle(payments: Payments, payload: bytes, header: str | None) -> str:
    """Process one delivery; returns processed | duplicate | ignored."""
    event = verify(payload, header, payments.settings.stripe_webhook_secret)
    event_id, event_type = event["id"], str(event.get("type", ""))
    if await records.event_seen(event_id):
        return "duplicate"
    handler = HANDLERS.get(event_type)
    obj = (event.get("data") or {}).get("object")
    if handler is None or not isinstance(obj, dict):
        async with in_transaction() as conn:
            await records.record_event(conn, event_id, event_type)
        return "ignored"
    await handler(payments, event)
    return "processed"


async def _record(event: dict[str, Any]) -> None:
    async with in_transaction() as conn:
        await records.record_event(conn, event["id"], event["type"])


async def _payment_for(event: dict[str, Any], intent_id: Any) -> PaymentRow | None:
    payment = await records.payment_by_intent(intent_id) if isinstance(intent_id, str) else None
    if payment is None:
        log.warning("stripe event %s names no payment of ours (%s)", event["id"], intent_id)
        await _record(event)
    return payment


# -- payment intents ---------------------------------------------------------------------------
async def intent_succeeded(payments: Payments, event: dict[str, Any]) -> None:
    intent = event["data"]["object"]
    payment = await _payment_for(event, intent.get("id"))
    if payment is None:
        return
    booking = await get_booking(payment.booking_id)
    assert booking is not None  # payments.booking_id is a foreign key
    reason = await _refund_reason(payments, payment, booking, intent)
    if reason is not None:
        await _give_back(payments, payment, booking, reason)
        await _record(event)
        return
    async with in_transaction() as conn:
        await records.mark_paid(conn, payment.id)
        await records.record_event(conn, event["id"], event["type"])


def _paid(intent: dict[str, Any]) -> tuple[int, str]:
    """What the intent actually collected, and in which currency (-1: unreadable)."""
    received = _cents(intent.get("amount_received"))
    amount = received if received is not None else _cents(intent.get("amount"))
    return (-1 if amount is None else amount), str(intent.get("currency") or "")


def _cents(value: Any) -> int | None:
    # Stripe sends integers; localstripe echoes an updated amount back as a string.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


async def _refund_reason(
    payments: Payments, payment: PaymentRow, booking: BookingRow, intent: dict[str, Any]
) -> str | None:
    """Confirm the booking if the money buys it; else why the money must go back."""
    if booking.status in (BookingStatus.HELD, BookingStatus.EXPIRED):
        amount, currency = _paid(intent)
        try:
            await payments.registry.ask(booking.space_id, Confirm(booking.id, amount, currency))
            return None
        except PaymentMismatchError:
            log.warning(
                "booking %s paid %s %s: not its price; refunding", booking.id, amount, currency
            )
            return MISMATCH
        except SlotTakenError:
            log.info("booking %s paid after its slot was taken: refunding", booking.id)
            return SLOT_LOST
        except (InvalidTransitionError, BookingChangedError):
            fresh = await get_booking(booking.id)
            assert fresh is not None
            booking = fresh  # changed meanwhile (another delivery, a cancel): judge again
    if booking.status in SETTLED:
        return None
    # Cancelled: before it was paid (the money buys nothing), or by an earlier delivery of
    # this very event (its refund exists under the void key, and says why).
    earlier = await records.refund_by_key(void_key(booking.id))
    if earlier is not None:
        return earlier.reason
    if booking.cancel_reason in (SLOT_LOST, MISMATCH):
        return booking.cancel_reason
    return VOID if not payment.paid else None


async def _give_back(
    payments: Payments, payment: PaymentRow, booking: BookingRow, reason: str
) -> None:
    """Refund in full (keyed: once), release a hold the money could not buy, audit it."""
    refund = await request_refund(
        payments,
        payment.id,
        payment.amount_cents,
        reason=reason,
        key=void_key(booking.id),
        settle=True,
    )
    fresh = await get_booking(booking.id)
    assert fresh is not None
    if fresh.status in (BookingStatus.EXPIRED, BookingStatus.HELD):
        try:
            await payments.registry.ask(booking.space_id, Cancel(SYSTEM, booking.id, reason))
        except (InvalidTransitionError, BookingChangedError):
            log.info("booking %s changed before it could be released (%s)", booking.id, reason)
    async with in_transaction() as conn:
        after = {"reason": reason, "refund_id": refund.id, "amount_cents": refund.amount_cents}
        await audit.record(
            conn, None, "refund_in_full", "payment", payment.id, booking.location_id, None, after
        )


async def intent_failed(payments: Payments, event: dict[str, Any]) -> None:
    intent = event["data"]["object"]
    payment = await _payment_for(event, intent.get("id"))
    if payment is None:
        return
    if not payment.paid and await _still_unpaid(payments, payment):
        booking = await get_booking(payment.booking_id)
        if booking is not None and booking.status is BookingStatus.HELD:
            try:
                await payments.registry.ask(booking.space_id, Release(booking.id))
            except (InvalidTransitionError, BookingChangedError):
                log.info("booking %s changed before its failed payment released it", booking.id)
    async with in_transaction() as conn:
        await records.mark_failed(conn, payment.id)
        await records.record_event(conn, event["id"], event["type"])


async def _still_unpaid(payments: Payments, payment: PaymentRow) -> bool:
    """Events come in any order: a failed attempt may be older than a success on its way."""
    status = await payments.stripe().intent_status(payment.stripe_payment_intent_id)
    return status not in ("succeeded", "processing", "requires_capture")


# -- refunds -----------------------------------------------------------------------------------
async def charge_refunded(payments: Payments, event: dict[str, Any]) -> None:
    charge = event["data"]["object"]
    payment = await _payment_for(event, charge.get("payment_intent"))
    if payment is None:
        return
    listed = (charge.get("refunds") or {}).get("data") or []
    async with in_transaction() as conn:
        for refund in listed:
            if isinstance(refund, dict):
                await _sync_refund(conn, payment, refund)
        await records.raise_refunded_to(conn, payment.id, int(charge.get("amount_refunded") or 0))
        await records.record_event(conn, event["id"], event["type"])
    payments.committed()


async def refund_changed(payments: Payments, event: dict[str, Any]) -> None:
    refund = event["data"]["object"]
    payment = await _payment_for(event, refund.get("payment_intent"))
    if payment is None:
        return
    async with in_transaction() as conn:
        await _sync_refund(conn, payment, refund)
        await records.record_event(conn, event["id"], event["type"])
    payments.committed()


async def _sync_refund(conn: Any, payment: PaymentRow, refund: dict[str, Any]) -> None:
    stripe_id, status = str(refund.get("id")), str(refund.get("status") or "pending")
    amount = int(refund.get("amount") or 0)
    gone = status in ("failed", "canceled")
    row = await records.refund_by_stripe_id(conn, stripe_id)
    if row is None:
        key = (refund.get("metadata") or {}).get("idempotency_key")
        row = await records.refund_by_key(key, conn) if isinstance(key, str) else None
        if row is None:
            if not gone and await records.insert_external_refund(
                conn, payment_id=payment.id, stripe_id=stripe_id, amount_cents=amount, status=status
            ):
                await records.add_refunded(conn, payment.id, amount)
            return
        # Ours, but the answer to our request was lost (timeout, crash): adopt it now.
        adopted = await records.mark_refund_sent(
            conn, row.id, stripe_id, "pending" if gone else status
        )
        if adopted and not gone:
            await tell_member(conn, payment.booking_id, row, payment.currency, stripe_id)
    if gone:
        await records.fail_refund(conn, row, f"{status} at Stripe")
    elif row.status not in ("failed", "canceled", status):
        await records.set_refund_status(conn, row.id, status)


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.refund.updated": refund_changed,
}
