"""Paying for a held booking: one PaymentIntent per booking, priced by the booking alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cowork.domain.errors import BookingNotFoundError, ConflictError, DomainError
from cowork.domain.problems import Problem
from cowork.domain.states import BookingStatus
from cowork.payments import records
from cowork.payments.context import Payments
from cowork.payments.records import PaymentRow
from cowork.store.bookings import BookingRow, get_booking
from cowork.store.db import db

log = logging.getLogger("cowork.payments.checkout")


class BookingNotPayableError(ConflictError):
    problem = Problem.BOOKING_NOT_PAYABLE


@dataclass(frozen=True, slots=True)
class Checkout:
    payment: PaymentRow
    created: bool


def intent_key(booking_id: int) -> str:
    return f"booking-{booking_id}-payment-intent"


async def start_payment(payments: Payments, user_id: int, booking_id: int) -> Checkout:
    """Create (or return) the booking's PaymentIntent. Nothing here changes the booking."""
    booking = await get_booking(booking_id)
    if booking is None or booking.user_id != user_id:
        raise BookingNotFoundError(booking_id)
    if booking.status is not BookingStatus.HELD:
        raise BookingNotPayableError(
            f"booking {booking_id} is {booking.status.value}", booking_status=booking.status.value
        )
    existing = await records.payment_for_booking(booking_id)
    if existing is not None:
        return Checkout(await _reprice(payments, existing, booking), created=False)
    gateway = payments.stripe()
    customer = await _customer(payments, user_id)
    intent = await gateway.create_intent(
        amount=booking.price_cents,
        currency=booking.currency,
        customer=customer,
        metadata={
            "booking_id": str(booking.id),
            "space_id": str(booking.space_id),
            "location_id": str(booking.location_id),
            "user_id": str(user_id),
        },
        key=intent_key(booking.id),
    )
    row = await records.insert_payment(
        booking_id=booking.id,
        user_id=user_id,
        intent_id=intent.id,
        client_secret=intent.client_secret,
        amount_cents=booking.price_cents,
        currency=booking.currency,
        status="requires_payment",
    )
    return Checkout(row, created=row.stripe_payment_intent_id == intent.id)


async def follow_price(payments: Payments, booking: BookingRow) -> None:
    """A held booking's price changed (rescheduled): its open PaymentIntent asks the new
    amount, so the old client secret cannot buy the new slot. Best effort: if Stripe cannot
    be reached, the webhook still refuses a payment that is not the price (and refunds it)."""
    payment = await records.payment_for_booking(booking.id)
    if payment is None or booking.status is not BookingStatus.HELD or payments.gateway is None:
        return
    try:
        await _reprice(payments, payment, booking)
    except DomainError as exc:
        log.warning("payment of booking %s not repriced: %s", booking.id, exc.detail)


async def _reprice(payments: Payments, payment: PaymentRow, booking: BookingRow) -> PaymentRow:
    """A held booking moved to a slot with another price before it was paid."""
    if payment.paid or payment.amount_cents == booking.price_cents:
        return payment
    await payments.stripe().update_amount(
        payment.stripe_payment_intent_id,
        booking.price_cents,
        key=f"{intent_key(booking.id)}-amount-{booking.price_cents}",
    )
    return await records.set_amount(payment.id, booking.price_cents) or payment


async def _customer(payments: Payments, user_id: int) -> str:
    """The member's Stripe customer, made once and kept on the user."""
    rows = await db().execute_query_dict(
        "SELECT email, name, stripe_customer_id FROM users WHERE id = $1", [user_id]
    )
    user = rows[0]
    if user["stripe_customer_id"]:
        return str(user["stripe_customer_id"])
    customer = await payments.stripe().create_customer(
        user_id=user_id, email=user["email"], name=user["name"]
    )
    # Two first payments racing: the first writer wins and both use its customer.
    kept = await db().execute_query_dict(
        "UPDATE users SET stripe_customer_id = COALESCE(stripe_customer_id, $2) WHERE id = $1 "
        "RETURNING stripe_customer_id",
        [user_id, customer],
    )
    return str(kept[0]["stripe_customer_id"])
