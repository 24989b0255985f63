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


async def _payments_for(event: dict[str, Any], intent_id: Any) -> list[PaymentRow]:
    """The rows the intent pays (one per booking); none: the event is not ours."""
    rows = await records.payments_by_intent(intent_id) if isinstance(intent_id, str) else []
    if not rows:
        log.warning("stripe event %s names no payment of ours (%s)", event["id"], intent_id)
        await _record(event)
    return rows


# -- payment intents ---------------------------------------------------------------------------
async def intent_succeeded(payments: Payments, event: dict[str, Any]) -> None:
    """Each row confirms its booking or is refunded alone; the event is recorded last."""
    intent = event["data"]["object"]
    rows = await _payments_for(event, intent.get("id"))
    if not rows:
        return
    judged = _shares(rows, intent)
    shares: list[tuple[int, str] | None] = list(judged) if judged else [None] * len(rows)
    received, _ = _paid(intent)
    for payment, share in zip(rows, shares, strict=True):
        booking = await get_booking(payment.booking_id)
        assert booking is not None  # payments.booking_id is a foreign key
        if share is None:  # a series intent that did not collect its total: all of it goes back
            amount = max(min(payment.amount_cents, received), 0)
            received -= amount
            if 0 < amount < payment.amount_cents:  # the row says what it really collected
                payment = await records.set_amount(payment.id, amount) or payment
            await _give_back(payments, payment, booking, MISMATCH, amount)
            continue
        reason = await _refund_reason(payments, payment, booking, *share)
        if reason is not None:
            await _give_back(payments, payment, booking, reason, payment.amount_cents)
            continue
        async with in_transaction() as conn:
            await records.mark_paid(conn, payment.id)
    await _record(event)


def _shares(rows: list[PaymentRow], intent: dict[str, Any]) -> list[tuple[int, str]] | None:
    """What each row's booking is judged to have been paid. A booking's own intent: what was
    collected (Confirm checks it against the price). A series' intent: each occurrence's own
    price, if the total and currency were collected exactly; else None (refund everything)."""
    amount, currency = _paid(intent)
    if len(rows) == 1 and rows[0].series_id is None:
        return [(amount, currency)]
    total = sum(p.amount_cents for p in rows)
    if (amount, currency.upper()) != (total, rows[0].currency.upper()):
        log.warning("series intent paid %s %s, not its %s: refunding", amount, currency, total)
        return None
    return [(p.amount_cents, currency) for p in rows]


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
    payments: Payments, payment: PaymentRow, booking: BookingRow, amount: int, currency: str
) -> str | None:
    """Confirm the booking if `amount` buys it; else why the money must go back."""
    if booking.status in (BookingStatus.HELD, BookingStatus.EXPIRED):
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
    payments: Payments, payment: PaymentRow, booking: BookingRow, reason: str, amount: int
) -> None:
    """Refund `amount` (keyed: once), release a hold the money could not buy, audit it."""
    refund = None
    if amount > 0:
        refund = await request_refund(
            payments, payment.id, amount, reason=reason, key=void_key(booking.id), settle=True
        )
    fresh = await get_booking(booking.id)
    assert fresh is not None
    if fresh.status in (BookingStatus.EXPIRED, BookingStatus.HELD):
        try:
            await payments.registry.ask(booking.space_id, Cancel(SYSTEM, booking.id, reason))
        except (InvalidTransitionError, BookingChangedError):
            log.info("booking %s changed before it could be released (%s)", booking.id, reason)
    async with in_transaction() as conn:
        after = {
            "reason": reason,
            "refund_id": refund.id if refund else None,
            "amount_cents": refund.amount_cents if refund else 0,
        }
        await audit.record(
            conn, None, "refund_in_full", "payment", payment.id, booking.location_id, None, after
        )


async def intent_failed(payments: Payments, event: dict[str, Any]) -> None:
    """The payment failed: every booking it was for is released (if still held and unpaid)."""
    intent = event["data"]["object"]
    rows = await _payments_for(event, intent.get("id"))
    if not rows:
        return
    if not any(p.paid for p in rows) and await _still_unpaid(payments, rows[0]):
        for payment in rows:
            await _release(payments, payment.booking_id)
    async with in_transaction() as conn:
        for payment in rows:
            await records.mark_failed(conn, payment.id)
        await records.record_event(conn, event["id"], event["type"])


async def _release(payments: Payments, booking_id: int) -> None:
    booking = await get_booking(booking_id)
    if booking is not None and booking.status is BookingStatus.HELD:
        try:
            await payments.registry.ask(booking.space_id, Release(booking.id))
        except (InvalidTransitionError, BookingChangedError):
            log.info("booking %s changed before its failed payment released it", booking.id)


async def _still_unpaid(payments: Payments, payment: PaymentRow) -> bool:
    """Events come in any order: a failed attempt may be older than a success on its way."""
    status = await payments.stripe().intent_status(payment.stripe_payment_intent_id)
    return status not in ("succeeded", "processing", "requires_capture")


# -- refunds -----------------------------------------------------------------------------------
async def charge_refunded(payments: Payments, event: dict[str, Any]) -> None:
    charge = event["data"]["object"]
    rows = await _payments_for(event, charge.get("payment_intent"))
    if not rows:
        return
    listed = (charge.get("refunds") or {}).get("data") or []
    async with in_transaction() as conn:
        for refund in listed:
            if isinstance(refund, dict):
                await _sync_refund(conn, rows, refund)
        if len(rows) == 1:  # the charge's total refunded is one booking's only if it pays one
            total = int(charge.get("amount_refunded") or 0)
            await records.raise_refunded_to(conn, rows[0].id, total)
        await records.record_event(conn, event["id"], event["type"])
    payments.committed()


async def refund_changed(payments: Payments, event: dict[str, Any]) -> None:
    refund = event["data"]["object"]
    rows = await _payments_for(event, refund.get("payment_intent"))
    if not rows:
        return
    async with in_transaction() as conn:
        await _sync_refund(conn, rows, refund)
        await records.record_event(conn, event["id"], event["type"])
    payments.committed()


async def _sync_refund(conn: Any, rows: list[PaymentRow], refund: dict[str, Any]) -> None:
    """Bring our refund row in line with Stripe's; adopt one made in Stripe's dashboard if the
    intent pays one booking (a series' shared intent cannot say which occurrence it was for)."""
    stripe_id, status = str(refund.get("id")), str(refund.get("status") or "pending")
    amount = int(refund.get("amount") or 0)
    gone = status in ("failed", "canceled")
    row = await records.refund_by_stripe_id(conn, stripe_id)
    if row is None:
        key = (refund.get("metadata") or {}).get("idempotency_key")
        row = await records.refund_by_key(key, conn) if isinstance(key, str) else None
        if row is None:
            await _adopt_external(conn, rows, stripe_id, amount, status)
            return
        # Ours, but the answer to our request was lost (timeout, crash): adopt it now.
        adopted = await records.mark_refund_sent(
            conn, row.id, stripe_id, "pending" if gone else status
        )
        payment = next((p for p in rows if p.id == row.payment_id), None)
        if adopted and not gone and payment is not None:
            await tell_member(conn, payment.booking_id, row, payment.currency, stripe_id)
    if gone:
        await records.fail_refund(conn, row, f"{status} at Stripe")
    elif row.status not in ("failed", "canceled", status):
        await records.set_refund_status(conn, row.id, status)


async def _adopt_external(
    conn: Any, rows: list[PaymentRow], stripe_id: str, amount: int, status: str
) -> None:
    if status in ("failed", "canceled"):
        return
    if len(rows) > 1:
        log.error(
            "refund %s (%s cents) was made in Stripe on the shared intent %s of series %s: "
            "not recorded against an occurrence; staff must refund per occurrence in cowork",
            stripe_id,
            amount,
            rows[0].stripe_payment_intent_id,
            rows[0].series_id,
        )
        return
    if await records.insert_external_refund(
        conn, payment_id=rows[0].id, stripe_id=stripe_id, amount_cents=amount, status=status
    ):
        await records.add_refunded(conn, rows[0].id, amount)


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.refund.updated": refund_changed,
}
