"""Refunds through the Refund API: written down first, sent second, retried until Stripe answers.

1. One transaction locks the payment, checks what is left, inserts a `queued` refund row with
   its idempotency key and counts its cents as refunded (no two refunds can over-promise).
2. Stripe is called with that key. Success → the row gets Stripe's id and status and the
   member is told (`booking.refunded`) in the same transaction. Stripe unreachable → the row
   stays queued with a backoff; `RefundRetrier` sends it later with the same key. Stripe
   refusing for good → the row fails and its cents become refundable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cowork.domain.errors import ConflictError, InvalidInputError, NotFoundError
from cowork.domain.problems import Problem
from cowork.payments import records
from cowork.payments.context import Payments
from cowork.payments.gateway import PaymentRejectedError, PaymentsUnavailableError
from cowork.payments.records import RefundRow
from cowork.store import audit
from cowork.store.bookings import get_booking
from cowork.store.events import emit_booking_event
from cowork.tasks import Worker

log = logging.getLogger("cowork.payments.refunds")

INLINE_LEASE_SECONDS = 60.0  # the retry loop leaves a row alone while its first try runs
MAX_BACKOFF_SECONDS = 3600.0


class PaymentNotFoundError(NotFoundError):
    problem = Problem.PAYMENT_NOT_FOUND


class PaymentNotRefundableError(ConflictError):
    problem = Problem.PAYMENT_NOT_REFUNDABLE


class RefundTooLargeError(ConflictError):
    problem = Problem.REFUND_EXCEEDS_REMAINING


class RefundAmountError(InvalidInputError):
    problem = Problem.INVALID_REFUND_AMOUNT


def void_key(booking_id: int) -> str:
    """A payment that arrived for a booking it can no longer buy (slot lost, cancelled)."""
    return f"refund-slot-lost-{booking_id}"


async def request_refund(
    payments: Payments,
    payment_id: int,
    amount_cents: int,
    *,
    reason: str,
    key: str,
    created_by: int | None = None,
    settle: bool = False,
) -> RefundRow:
    """Reserve and send one refund; the same key always means the same refund.

    `settle`: the payment's success is recorded in the same transaction as the reservation,
    so a webhook replayed after a crash still finds the refund it owes.
    """
    if amount_cents <= 0:
        raise RefundAmountError("amount_cents must be at least 1", amount_cents=amount_cents)
    payments.stripe()  # refuse early on a node without Stripe
    existing = await records.refund_by_key(key)
    if existing is not None:
        return existing
    async with in_transaction() as conn:
        payment = await records.payment_by_id(payment_id, conn, for_update=True)
        if payment is None:
            raise PaymentNotFoundError(f"payment {payment_id} not found")
        existing = await records.refund_by_key(key, conn)
        if existing is not None:
            return existing
        if settle and await records.mark_paid(conn, payment_id):
            payment = await records.payment_by_id(payment_id, conn)
            assert payment is not None
        if not payment.paid:
            raise PaymentNotRefundableError(
                f"payment {payment_id} is {payment.status}", payment_status=payment.status
            )
        if amount_cents > payment.refundable_cents:
            raise RefundTooLargeError(
                f"at most {payment.refundable_cents} cents are left to refund",
                refundable_cents=payment.refundable_cents,
                amount_cents=amount_cents,
            )
        refund = await records.insert_refund(
            conn,
            payment_id=payment_id,
            amount_cents=amount_cents,
            reason=reason,
            key=key,
            created_by=created_by,
            lease_seconds=INLINE_LEASE_SECONDS,
        )
        await records.add_refunded(conn, payment_id, amount_cents)
        if created_by is not None:  # a manager's or admin's refund is audited; policy ones are not
            location_id = await _location_of_booking(conn, payment.booking_id)
            await audit.record(
                conn,
                created_by,
                "create",
                "refund",
                refund.id,
                location_id,
                None,
                {"payment_id": payment_id, "amount_cents": amount_cents, "reason": reason},
            )
    return await send(payments, refund)


async def _location_of_booking(conn: BaseDBAsyncClient, booking_id: int) -> int | None:
    rows = await conn.execute_query_dict(
        "SELECT location_id FROM bookings WHERE id = $1", [booking_id]
    )
    return int(rows[0]["location_id"]) if rows else None


async def send(payments: Payments, refund: RefundRow) -> RefundRow:
    """One attempt at Stripe for a queued refund; the row says how it went."""
    assert refund.idempotency_key is not None
    payment = await records.payment_by_id(refund.payment_id)
    assert payment is not None
    gateway = payments.stripe()
    try:
        made = None
        if refund.attempts > 0:
            # Stripe forgets idempotency keys after 24 h: look for an earlier success first.
            made = await gateway.find_refund(
                payment.stripe_payment_intent_id, refund.idempotency_key
            )
        if made is None:
            made = await gateway.create_refund(
                payment_intent=payment.stripe_payment_intent_id,
                amount=refund.amount_cents,
                key=refund.idempotency_key,
                metadata={
                    "idempotency_key": refund.idempotency_key,
                    "booking_id": str(payment.booking_id),
                    "cowork_refund_id": str(refund.id),
                },
            )
    except PaymentsUnavailableError as exc:
        delay = min(
            payments.settings.refund_retry_seconds * 2**refund.attempts, MAX_BACKOFF_SECONDS
        )
        await records.defer_refund(refund.id, exc.detail, delay)
        log.warning("refund %s queued: Stripe unreachable, retry in %.1fs", refund.id, delay)
    except PaymentRejectedError as exc:
        async with in_transaction() as conn:
            await records.fail_refund(conn, refund, exc.detail)
        log.error("refund %s refused by Stripe: %s", refund.id, exc.detail)
    else:
        async with in_transaction() as conn:
            refused = made.status in ("failed", "canceled")
            status = "pending" if refused else made.status
            if await records.mark_refund_sent(conn, refund.id, made.id, status):
                if refused:
                    await records.fail_refund(conn, refund, f"{made.status} at Stripe")
                else:
                    await tell_member(conn, payment.booking_id, refund, payment.currency, made.id)
        payments.committed()
    fresh = await records.refund_by_id(refund.id)
    assert fresh is not None
    return fresh


async def tell_member(
    conn: Any, booking_id: int, refund: RefundRow, currency: str, stripe_id: str
) -> None:
    booking = await get_booking(booking_id, conn)
    if booking is None:
        return
    await emit_booking_event(
        conn,
        "booking.refunded",
        booking.facts(),
        refund_id=refund.id,
        stripe_refund_id=stripe_id,
        amount_cents=refund.amount_cents,
        refund_currency=currency,
        refund_reason=refund.reason,
    )


class RefundRetrier(Worker):
    """Sends queued refunds whose retry time has come; one per node, leases keep nodes apart."""

    name = "payments:refund-retrier"

    def __init__(self, payments: Payments) -> None:
        super().__init__()
        self._payments = payments
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        claimed = await records.claim_due_refunds(INLINE_LEASE_SECONDS)
        for refund in claimed:
            await send(self._payments, refund)
        return len(claimed)

    async def run(self) -> None:
        interval = self._payments.settings.refund_retry_seconds
        while True:
            try:
                if self._payments.gateway is not None:
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("refund retry sweep failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
