"""Paying for held bookings: one PaymentIntent per booking, priced by the booking alone, or one
for the held occurrences of a series (a payments row per occurrence, each at its own price)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from cowork.domain.errors import BookingNotFoundError, ConflictError, DomainError
from cowork.domain.problems import Problem
from cowork.domain.states import BookingStatus
from cowork.payments import records, series_records
from cowork.payments.context import Payments
from cowork.payments.records import PaymentRow
from cowork.payments.series_records import Share
from cowork.store import series as series_store
from cowork.store.bookings import BookingRow, get_booking
from cowork.store.db import db

log = logging.getLogger("cowork.payments.checkout")


class BookingNotPayableError(ConflictError):
    problem = Problem.BOOKING_NOT_PAYABLE


class SeriesNotPayableError(ConflictError):
    problem = Problem.SERIES_NOT_PAYABLE


@dataclass(frozen=True, slots=True)
class Checkout:
    payment: PaymentRow
    created: bool


@dataclass(frozen=True, slots=True)
class SeriesCheckout:
    """One intent over several occurrences: `payments` are its rows, one per booking."""

    series_id: int
    payments: list[PaymentRow]
    created: bool

    @property
    def amount_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)


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
    if existing is not None and existing.series_id is not None:
        raise BookingNotPayableError(
            f"booking {booking_id} is paid with its series {existing.series_id}: pay the series",
            booking_status=booking.status.value,
            series_id=existing.series_id,
        )
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
    if payment.series_id is not None:
        return  # a shared intent is never repriced: the webhook refunds this occurrence instead
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


def series_intent_key(series_id: int, booking_ids: list[int]) -> str:
    """Retrying the same request reuses the intent; another set of occurrences gets another."""
    digest = hashlib.sha256(",".join(map(str, sorted(booking_ids))).encode()).hexdigest()[:16]
    return f"series-{series_id}-payment-intent-{digest}"


async def start_series_payment(payments: Payments, user_id: int, series_id: int) -> SeriesCheckout:
    """One PaymentIntent for the series' held occurrences that have no payment yet (or the
    open one made earlier). Nothing here changes a booking; the holds keep their deadlines."""
    series = await series_store.get(series_id)
    if series is None or series.user_id != user_id:
        raise Problem.SERIES_NOT_FOUND.error(f"No series {series_id} of yours.")
    held = {
        b.id: b for b in await series_store.occurrences(series_id) if b.status is BookingStatus.HELD
    }
    open_rows = await series_records.open_series_payments(series_id)
    if any(p.booking_id in held for p in open_rows):
        return SeriesCheckout(series_id, open_rows, created=False)
    paid_alone = await records.payments_for_bookings(list(held))
    due = [b for b in held.values() if b.id not in paid_alone]
    if not due:
        raise SeriesNotPayableError(
            f"series {series_id} has no held occurrence waiting for payment", series_id=series_id
        )
    currency = due[0].currency
    shares = [Share(b.id, b.price_cents) for b in due]
    intent = await payments.stripe().create_intent(
        amount=sum(s.amount_cents for s in shares),
        currency=currency,
        customer=await _customer(payments, user_id),
        metadata={
            "series_id": str(series_id),
            "occurrences": str(len(shares)),
            "space_id": str(series.space_id),
            "location_id": str(series.location_id),
            "user_id": str(user_id),
        },
        key=series_intent_key(series_id, [s.booking_id for s in shares]),
    )
    rows = await series_records.insert_series_payments(
        series_id=series_id,
        user_id=user_id,
        intent_id=intent.id,
        client_secret=intent.client_secret,
        currency=currency,
        shares=shares,
    )
    if rows is None:  # an occurrence was paid alone meanwhile: this intent must never be paid
        await payments.stripe().cancel_intent(intent.id, key=f"{intent.id}-cancel")
        raise SeriesNotPayableError(
            f"an occurrence of series {series_id} got its own payment meanwhile; try again",
            series_id=series_id,
        )
    return SeriesCheckout(series_id, rows, created=True)


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
