"""New bookings, with their events and idempotent answers, in one statement: one or many.

The statement is the same text for one row or a batch (the rows travel as arrays), so every
caller shares one prepared plan. It is atomic: an overlap (SQLSTATE 23P01) or any other
refusal rejects every row in it; `cowork.store.group_commit` then writes each row alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from cowork.store.bookings import COLUMNS, BookingRow, SlotConflict, is_exclusion_violation
from cowork.store.events import EventRows, add_event_rows, booking_event_rows
from cowork.store.idempotency import add_responses
from cowork.store.sql import Script

_FIELDS = (
    "id, space_id, location_id, user_id, starts_at, ends_at, status, price_cents, currency, "
    "expires_at, deadline_at, created_at, buffer_before_minutes, buffer_after_minutes, series_id"
)
_INSERT_BOOKINGS = (
    "INSERT INTO bookings (id, space_id, location_id, user_id, starts_at, ends_at, status, "
    "price_cents, currency, expires_at, deadline_at, created_at, updated_at, "
    "buffer_before_minutes, buffer_after_minutes, series_id) "
    "SELECT id, space_id, location_id, user_id, starts_at, ends_at, status, price_cents, "
    "currency, expires_at, deadline_at, created_at, created_at, buffer_before_minutes, "
    "buffer_after_minutes, series_id FROM unnest(?::bigint[], ?::int[], ?::int[], ?::int[], "
    "?::timestamptz[], ?::timestamptz[], ?::text[], ?::int[], ?::text[], ?::timestamptz[], "
    f"?::timestamptz[], ?::timestamptz[], ?::int[], ?::int[], ?::bigint[]) AS x({_FIELDS}) "
    f"RETURNING {COLUMNS}"
)

_ROW_FIELDS = tuple(name.strip() for name in _FIELDS.split(","))


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking to insert, the event it is entered with, and the key its 201 answers."""

    row: BookingRow
    event_type: str
    idem: int | None = None
    event: dict[str, Any] = field(default_factory=dict)  # see events.booking_event_rows


async def insert_bookings(conn: BaseDBAsyncClient, new: Sequence[NewBooking]) -> list[BookingRow]:
    """Insert the bookings, their events and answers: all or nothing, in one statement.
    Rows come back in the order given. Any overlap raises SlotConflict."""
    script = Script()
    rows = [n.row for n in new]
    # one order on every node, so two batches take overlapping slots in the same sequence
    ordered = sorted(rows, key=lambda r: (r.space_id, r.starts_at, r.id))
    inserted = script.add(_INSERT_BOOKINGS, *_columns(ordered))
    events = EventRows()
    for n in new:
        events.extend(booking_event_rows(n.event_type, n.row.facts(), **n.event))
    add_event_rows(script, events)
    add_responses(script, [(n.idem, 201, n.row.to_json()) for n in new if n.idem is not None])
    try:
        records = await script.run(conn, f"SELECT {COLUMNS} FROM {inserted}")
    except IntegrityError as exc:
        if is_exclusion_violation(exc):
            raise SlotConflict from exc
        raise
    by_id = {r["id"]: BookingRow.from_record(r) for r in records}
    return [by_id[r.id] for r in rows]


async def insert_booking(
    conn: BaseDBAsyncClient,
    row: BookingRow,
    event_type: str,
    idempotency_id: int | None,
    **event: Any,
) -> BookingRow:
    """One booking, its events and its 201 answer in one atomic statement.

    `event` goes to `booking_event_rows` (another personal type, no personal row, extras)."""
    [inserted] = await insert_bookings(conn, [NewBooking(row, event_type, idempotency_id, event)])
    return inserted


def _columns(rows: list[BookingRow]) -> list[list[Any]]:
    """One array per column of _FIELDS, in that order."""
    arrays = [[getattr(r, name) for r in rows] for name in _ROW_FIELDS]
    arrays[_ROW_FIELDS.index("status")] = [r.status.value for r in rows]
    return arrays
