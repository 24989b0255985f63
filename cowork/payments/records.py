# ruff: noqa: S608  (SQL is built from this module's constants only; values are parameters)
"""Payments, refunds and seen Stripe events in SQL: every money write is one exact statement.

`refunded_cents` counts every refund we have committed to (queued, pending at Stripe or
succeeded), so two refunds racing can never promise more than was paid (the table's CHECK
backs this); a refund Stripe finally refuses gives its cents back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.store.db import db

PAID = ("succeeded", "partially_refunded", "refunded")
REFUND_LIVE = ("queued", "pending", "requires_action", "succeeded")

PAYMENT_COLUMNS = (
    "id, booking_id, user_id, stripe_payment_intent_id, client_secret, amount_cents, "
    "refunded_cents, currency, status, series_id, created_at, updated_at"
)
_REFUND_COLUMNS = (
    "id, payment_id, stripe_refund_id, amount_cents, reason, status, idempotency_key, attempts, "
    "last_error, created_by_id, created_at, updated_at"
)
# Status after changing refunded_cents by $2 (SET sees the old row, hence the repetition).
_PAID_STATUS = (
    "CASE WHEN refunded_cents + $2 <= 0 THEN 'succeeded' "
    "WHEN refunded_cents + $2 >= amount_cents THEN 'refunded' ELSE 'partially_refunded' END"
)


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    booking_id: int
    user_id: int
    stripe_payment_intent_id: str
    client_secret: str
    amount_cents: int
    refunded_cents: int
    currency: str
    status: str
    series_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def paid(self) -> bool:
        return self.status in PAID

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.refunded_cents if self.paid else 0


@dataclass(frozen=True, slots=True)
class RefundRow:
    id: int
    payment_id: int
    stripe_refund_id: str | None
    amount_cents: int
    reason: str
    status: str
    idempotency_key: str | None
    attempts: int
    last_error: str | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime

    def to_json(self, currency: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "payment_id": self.payment_id,
            "stripe_refund_id": self.stripe_refund_id,
            "amount_cents": self.amount_cents,
            "currency": currency,
            "reason": self.reason,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


def _payment(rows: list[dict[str, Any]]) -> PaymentRow | None:
    return payment_rows(rows[:1])[0] if rows else None


def payment_rows(rows: list[dict[str, Any]]) -> list[PaymentRow]:
    return [PaymentRow(**{f.name: row[f.name] for f in fields(PaymentRow)}) for row in rows]


def _refund(row: dict[str, Any]) -> RefundRow:
    return RefundRow(**{f.name: row[f.name] for f in fields(RefundRow)})


def _conn(conn: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    return conn or db()


# -- payments ----------------------------------------------------------------------------------
async def select_payments(
    where: str, args: list[Any], conn: BaseDBAsyncClient | None = None
) -> list[PaymentRow]:
    """The payments rows `where` picks (SQL after WHERE, values as $n parameters)."""
    return payment_rows(
        await _conn(conn).execute_query_dict(
            f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE {where}", args
        )
    )


async def _one(where: str, args: list[Any], conn: BaseDBAsyncClient | None) -> PaymentRow | None:
    rows = await select_payments(where, args, conn)
    return rows[0] if rows else None


async def payment_for_booking(
    booking_id: int, conn: BaseDBAsyncClient | None = None, *, for_update: bool = False
) -> PaymentRow | None:
    lock = " FOR UPDATE" if for_update else ""
    return await _one(f"booking_id = $1{lock}", [booking_id], conn)


async def payments_for_bookings(booking_ids: list[int]) -> dict[int, PaymentRow]:
    rows = await select_payments("booking_id = ANY($1::bigint[])", [booking_ids])
    return {p.booking_id: p for p in rows}


async def payments_by_intent(intent_id: str) -> list[PaymentRow]:
    """The rows one PaymentIntent pays: one for a booking, one per occurrence for a series."""
    return await select_payments("stripe_payment_intent_id = $1 ORDER BY id", [intent_id])


async def payment_by_id(
    payment_id: int, conn: BaseDBAsyncClient | None = None, *, for_update: bool = False
) -> PaymentRow | None:
    lock = " FOR UPDATE" if for_update else ""
    return await _one(f"id = $1{lock}", [payment_id], conn)


async def insert_payment(
    *,
    booking_id: int,
    user_id: int,
    intent_id: str,
    client_secret: str,
    amount_cents: int,
    currency: str,
    status: str,
) -> PaymentRow:
    """Insert the booking's payment; if another request won the race, return its row."""
    inserted = await db().execute_query_dict(
        "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, client_secret, "
        "amount_cents, refunded_cents, currency, status) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) "
        f"ON CONFLICT (booking_id) DO NOTHING RETURNING {PAYMENT_COLUMNS}",
        [booking_id, user_id, intent_id, client_secret, amount_cents, currency, status],
    )
    row = _payment(inserted) or await payment_for_booking(booking_id)
    assert row is not None
    return row


async def set_amount(payment_id: int, amount_cents: int) -> PaymentRow | None:
    return _payment(
        await db().execute_query_dict(
            f"UPDATE payments SET amount_cents = $2, updated_at = now() WHERE id = $1 "
            f"AND status NOT IN {PAID} RETURNING {PAYMENT_COLUMNS}",
            [payment_id, amount_cents],
        )
    )


async def mark_paid(conn: BaseDBAsyncClient, payment_id: int) -> bool:
    """The intent succeeded; True if this is news (a replay changes nothing)."""
    rows = await conn.execute_query_dict(
        f"UPDATE payments SET status = 'succeeded', updated_at = now() "
        f"WHERE id = $1 AND status NOT IN {PAID} RETURNING id",
        [payment_id],
    )
    return bool(rows)


async def mark_failed(conn: BaseDBAsyncClient, payment_id: int) -> bool:
    rows = await conn.execute_query_dict(
        f"UPDATE payments SET status = 'failed', updated_at = now() "
        f"WHERE id = $1 AND status NOT IN {PAID} RETURNING id",
        [payment_id],
    )
    return bool(rows)


async def add_refunded(conn: BaseDBAsyncClient, payment_id: int, delta: int) -> None:
    await conn.execute_query(
        "UPDATE payments SET "
        "refunded_cents = LEAST(amount_cents, GREATEST(0, refunded_cents + $2)), "
        f"status = {_PAID_STATUS}, updated_at = now() WHERE id = $1",
        [payment_id, delta],
    )


async def raise_refunded_to(conn: BaseDBAsyncClient, payment_id: int, total: int) -> None:
    """Stripe says `total` was refunded (maybe from its dashboard): never count less."""
    await conn.execute_query(
        "UPDATE payments SET refunded_cents = LEAST(amount_cents, GREATEST(refunded_cents, $2)), "
        "status = CASE WHEN GREATEST(refunded_cents, $2) >= amount_cents THEN 'refunded' "
        "WHEN GREATEST(refunded_cents, $2) > 0 THEN 'partially_refunded' ELSE status END, "
        f"updated_at = now() WHERE id = $1 AND status IN {PAID}",
        [payment_id, total],
    )


# -- stripe events -----------------------------------------------------------------------------
async def event_seen(event_id: str) -> bool:
    rows = await db().execute_query_dict("SELECT 1 FROM stripe_events WHERE id = $1", [event_id])
    return bool(rows)


async def record_event(conn: BaseDBAsyncClient, event_id: str, event_type: str) -> bool:
    rows = await conn.execute_query_dict(
        "INSERT INTO stripe_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING "
        "RETURNING id",
        [event_id, event_type],
    )
    return bool(rows)


# -- refunds -----------------------------------------------------------------------------------
async def refund_by_key(key: str, conn: BaseDBAsyncClient | None = None) -> RefundRow | None:
    rows = await _conn(conn).execute_query_dict(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1", [key]
    )
    return _refund(rows[0]) if rows else None


async def refund_by_id(refund_id: int) -> RefundRow | None:
    rows = await db().execute_query_dict(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = $1", [refund_id]
    )
    return _refund(rows[0]) if rows else None


async def refund_by_stripe_id(conn: BaseDBAsyncClient, stripe_id: str) -> RefundRow | None:
    rows = await conn.execute_query_dict(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE stripe_refund_id = $1 FOR UPDATE",
        [stripe_id],
    )
    return _refund(rows[0]) if rows else None


async def refunds_of(payment_ids: list[int]) -> dict[int, list[RefundRow]]:
    found: dict[int, list[RefundRow]] = {pid: [] for pid in payment_ids}
    if not payment_ids:
        return found
    rows = await db().execute_query_dict(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE payment_id = ANY($1::int[]) ORDER BY id",
        [payment_ids],
    )
    for row in rows:
        found[row["payment_id"]].append(_refund(row))
    return found


async def insert_refund(
    conn: BaseDBAsyncClient,
    *,
    payment_id: int,
    amount_cents: int,
    reason: str,
    key: str,
    created_by: int | None,
    lease_seconds: float,
) -> RefundRow:
    """A queued refund; the first attempt runs inline, so the retry loop waits a lease."""
    rows = await conn.execute_query_dict(
        "INSERT INTO refunds (payment_id, amount_cents, reason, status, idempotency_key, "
        "created_by_id, next_attempt_at) VALUES ($1, $2, $3, 'queued', $4, $5, "
        f"now() + make_interval(secs => $6)) RETURNING {_REFUND_COLUMNS}",
        [payment_id, amount_cents, reason, key, created_by, lease_seconds],
    )
    return _refund(rows[0])


async def insert_external_refund(
    conn: BaseDBAsyncClient, *, payment_id: int, stripe_id: str, amount_cents: int, status: str
) -> bool:
    """A refund made outside cowork (Stripe dashboard) that an event told us about."""
    rows = await conn.execute_query_dict(
        "INSERT INTO refunds (payment_id, stripe_refund_id, amount_cents, reason, status) "
        "VALUES ($1, $2, $3, 'made in Stripe', $4) ON CONFLICT (stripe_refund_id) DO NOTHING "
        "RETURNING id",
        [payment_id, stripe_id, amount_cents, status],
    )
    return bool(rows)


async def claim_due_refunds(lease_seconds: float, limit: int = 20) -> list[RefundRow]:
    """Queued refunds whose retry time came; the lease keeps other nodes off them meanwhile."""
    rows = await db().execute_query_dict(
        "UPDATE refunds SET next_attempt_at = now() + make_interval(secs => $1) WHERE id IN ("
        "SELECT id FROM refunds WHERE status = 'queued' AND next_attempt_at <= now() "
        "ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        f"RETURNING {_REFUND_COLUMNS}",
        [lease_seconds, limit],
    )
    return [_refund(r) for r in rows]


async def mark_refund_sent(
    conn: BaseDBAsyncClient, refund_id: int, stripe_id: str, status: str
) -> bool:
    rows = await conn.execute_query_dict(
        "UPDATE refunds SET stripe_refund_id = $2, status = $3, last_error = NULL, "
        "next_attempt_at = NULL, updated_at = now() WHERE id = $1 AND status = 'queued' "
        "RETURNING id",
        [refund_id, stripe_id, status],
    )
    return bool(rows)


async def defer_refund(refund_id: int, error: str, delay_seconds: float) -> None:
    await db().execute_query(
        "UPDATE refunds SET attempts = attempts + 1, last_error = $2, updated_at = now(), "
        "next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1 AND status = 'queued'",
        [refund_id, error[:500], delay_seconds],
    )


async def set_refund_status(conn: BaseDBAsyncClient, refund_id: int, status: str) -> None:
    await conn.execute_query(
        "UPDATE refunds SET status = $2, updated_at = now() WHERE id = $1", [refund_id, status]
    )


async def fail_refund(conn: BaseDBAsyncClient, refund: RefundRow, error: str) -> bool:
    """Stripe will never make this refund: its cents become refundable again."""
    rows = await conn.execute_query_dict(
        "UPDATE refunds SET status = 'failed', last_error = $2, next_attempt_at = NULL, "
        f"updated_at = now() WHERE id = $1 AND status IN {REFUND_LIVE} RETURNING id",
        [refund.id, error[:500]],
    )
    if rows:
        await add_refunded(conn, refund.payment_id, -refund.amount_cents)
    return bool(rows)


async def payment_views(payment_ids: list[int]) -> list[dict[str, Any]]:
    """Payments as the API shows them (with their booking's space and location, and refunds),
    in the order of `payment_ids`."""
    if not payment_ids:
        return []
    rows = await db().execute_query_dict(
        "SELECT p.id, p.booking_id, b.space_id, b.location_id, p.user_id, p.series_id, "
        "p.stripe_payment_intent_id, p.amount_cents, p.refunded_cents, p.currency, p.status, "
        "p.created_at, p.updated_at FROM payments p JOIN bookings b ON b.id = p.booking_id "
        "WHERE p.id = ANY($1::int[])",
        [payment_ids],
    )
    by_id = {r["id"]: r for r in rows}
    refunds = await refunds_of(payment_ids)
    out = []
    for pid in payment_ids:
        r = by_id[pid]
        out.append(
            {
                "id": r["id"],
                "booking_id": r["booking_id"],
                "space_id": r["space_id"],
                "location_id": r["location_id"],
                "user_id": r["user_id"],
                "series_id": r["series_id"],
                "payment_intent_id": r["stripe_payment_intent_id"],
                "amount_cents": r["amount_cents"],
                "refunded_cents": r["refunded_cents"],
                "currency": r["currency"],
                "status": r["status"],
                "created_at": r["created_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
                "refunds": [f.to_json(r["currency"]) for f in refunds[pid]],
            }
        )
    return out
