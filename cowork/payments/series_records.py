# ruff: noqa: S608  (SQL is built from records' column list only; values are parameters)
"""A series paid up front in SQL: one PaymentIntent, one payments row per occurrence."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from cowork.payments.records import (
    PAYMENT_COLUMNS,
    PaymentRow,
    payment_rows,
    payments_by_intent,
    select_payments,
)


class _Taken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Share:
    """What one occurrence of a series paid up front costs."""

    booking_id: int
    amount_cents: int


async def insert_series_payments(
    *,
    series_id: int,
    user_id: int,
    intent_id: str,
    client_secret: str,
    currency: str,
    shares: list[Share],
) -> list[PaymentRow] | None:
    """One row per occurrence, all or none: None if an occurrence got a payment of its own
    meanwhile (the rows of this same intent, written by a racing request, are returned)."""
    try:
        async with in_transaction() as conn:
            rows = await conn.execute_query_dict(
                "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, "
                "client_secret, amount_cents, refunded_cents, currency, status, series_id) "
                "SELECT b, $2, $3, $4, a, 0, $5, 'requires_payment', $1 "
                "FROM unnest($6::bigint[], $7::int[]) AS s(b, a) "
                f"ON CONFLICT (booking_id) DO NOTHING RETURNING {PAYMENT_COLUMNS}",
                [
                    series_id,
                    user_id,
                    intent_id,
                    client_secret,
                    currency,
                    [s.booking_id for s in shares],
                    [s.amount_cents for s in shares],
                ],
            )
            if len(rows) < len(shares):
                raise _Taken  # roll back the rows that did go in
        return sorted(payment_rows(rows), key=lambda p: p.id)
    except _Taken:
        pass
    mine = await payments_by_intent(intent_id)
    return mine if len(mine) == len(shares) else None


async def open_series_payments(series_id: int) -> list[PaymentRow]:
    """The series' up-front payment still waiting for its money (none, or one intent's rows)."""
    return await select_payments(
        "series_id = $1 AND status = 'requires_payment' ORDER BY id", [series_id]
    )
