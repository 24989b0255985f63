"""Booking writes: each runs in the caller's transaction and holds the change, its events, the
idempotent answer and anything owed (a refund). The space actor calls them one at a time;
plain new holds go out in groups instead (`store.group_commit`, the same statement as `place`).

Status changes are conditional updates (`… WHERE status = <what we read>`): when another
writer got there first they return None and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.buffers import NO_BUFFERS, Buffers
from cowork.domain.slots import Slot
from cowork.domain.states import EVENT_OF, BookingStatus
from cowork.payments.owed import owe_cancellation_refund
from cowork.store import bookings as store
from cowork.store.bookings import BookingRow
from cowork.store.events import emit_booking_event
from cowork.store.idempotency import store_response
from cowork.store.new_bookings import insert_booking


@dataclass(frozen=True, slots=True)
class Cancelled:
    booking: BookingRow
    refund_percent: int
    refund_cents: int  # owed (written with the cancellation, sent by the refund retrier)


async def place(
    conn: BaseDBAsyncClient, row: BookingRow, idem: int | None, **event: Any
) -> BookingRow:
    """A new hold (or a free booking, or a request for approval): row, events and the 201
    answer in one statement. `event`: see `store.events.booking_event_rows`."""
    return await insert_booking(conn, row, EVENT_OF[row.status], idem, **event)


async def expire_lapsed(conn: BaseDBAsyncClient, space_id: int, now: datetime) -> list[BookingRow]:
    """Expire the space's lapsed holds, so a timer running late never blocks a write."""
    expired = []
    for booking_id in await store.stale_holds(conn, space_id, now):
        row = await store.update_booking(
            conn, booking_id, [BookingStatus.HELD], status=BookingStatus.EXPIRED, deadline_at=None
        )
        if row is not None:
            await emit_booking_event(conn, EVENT_OF[row.status], row.facts())
            expired.append(row)
    return expired


async def change_status(
    conn: BaseDBAsyncClient,
    row: BookingRow,
    status: BookingStatus,
    *,
    deadline: datetime | None,
    idem: int | None = None,
    event: dict[str, Any] | None = None,
    event_type: str | None = None,
    personal: bool = True,
    **changes: Any,
) -> BookingRow | None:
    """Move `row` to `status` if it is still as read; its event (by default the one the new
    status is entered with) and answer go with it. `personal=False`: the member hears of it
    another way (once for a whole series)."""
    updated = await store.update_booking(
        conn, row.id, [row.status], status=status, deadline_at=deadline, **changes
    )
    if updated is not None:
        kind = event_type or EVENT_OF[status]
        extra = event or {}
        await emit_booking_event(conn, kind, updated.facts(), personal=personal, **extra)
        await store_response(conn, idem, 200, updated.to_json())
    return updated


async def cancel(
    conn: BaseDBAsyncClient,
    row: BookingRow,
    *,
    reason: str,
    percent: int,
    idem: int | None,
    note: str | None = None,
    personal: bool = True,
) -> Cancelled | None:
    """Cancel, and owe the refund the policy gives in the same transaction."""
    refund = await owe_cancellation_refund(conn, row.id, percent)
    owed = refund.amount_cents if refund is not None else 0
    event = {"refund_percent": percent, "reason": reason, "refund_cents": owed, "note": note}
    cancelled = await change_status(
        conn,
        row,
        BookingStatus.CANCELLED,
        deadline=None,
        idem=idem,
        event=event,
        cancel_reason=reason,
        cancel_note=note,
        personal=personal,
    )
    return None if cancelled is None else Cancelled(cancelled, percent, owed)


async def move(
    conn: BaseDBAsyncClient,
    row: BookingRow,
    slot: Slot,
    *,
    price_cents: int,
    deadline: datetime | None,
    idem: int | None,
    buffers: Buffers = NO_BUFFERS,
) -> BookingRow | None:
    """Reschedule within the space: the old slot is released only if the new one is won.
    The booking takes the space's buffers of now, like a new one."""
    moved = await store.update_booking(
        conn,
        row.id,
        [row.status],
        starts_at=slot.start,
        ends_at=slot.end,
        price_cents=price_cents,
        deadline_at=deadline,
        buffer_before_minutes=buffers.before_minutes,
        buffer_after_minutes=buffers.after_minutes,
    )
    if moved is not None:
        await emit_booking_event(
            conn,
            "booking.rescheduled",
            moved.facts(),
            previous_start=row.starts_at.isoformat(),
            previous_end=row.ends_at.isoformat(),
        )
        await store_response(conn, idem, 200, moved.to_json())
    return moved


async def restore_deadline(conn: BaseDBAsyncClient, row: BookingRow, at: datetime | None) -> None:
    """A deadline claimed early (or no longer due): put the true one back."""
    await store.update_booking(conn, row.id, [row.status], deadline_at=at)
