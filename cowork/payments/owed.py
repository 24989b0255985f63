"""Refunds owed by a change, written in that change's own transaction."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.policy import refund_amount
from cowork.payments import records
from cowork.payments.records import PaymentRow, RefundRow


def cancel_key(booking_id: int) -> str:
    return f"refund-cancel-{booking_id}"


def cancellation_refund_cents(payment: PaymentRow, percent: int) -> int:
    """What a cancellation refunds: `percent` of what was paid, capped by what is left (also
    what the member is shown before cancelling)."""
    if not payment.paid or percent <= 0:
        return 0
    return max(min(refund_amount(payment.amount_cents, percent), payment.refundable_cents), 0)


async def owe_cancellation_refund(
    conn: BaseDBAsyncClient, booking_id: int, percent: int
) -> RefundRow | None:
    """In the cancellation's own transaction: owe `percent` of what was paid (a queued refund
    row, due now); the retrier sends it. Nothing after the commit decides money."""
    payment = await records.payment_for_booking(booking_id, conn, for_update=True)
    if payment is None or not payment.paid or percent <= 0:
        return None
    existing = await records.refund_by_key(cancel_key(booking_id), conn)
    if existing is not None:
        return existing
    amount = cancellation_refund_cents(payment, percent)
    if amount <= 0:
        return None
    refund = await records.insert_refund(
        conn,
        payment_id=payment.id,
        amount_cents=amount,
        reason=f"cancellation ({percent}%)",
        key=cancel_key(booking_id),
        created_by=None,
        lease_seconds=0,
    )
    await records.add_refunded(conn, payment.id, amount)
    return refund
