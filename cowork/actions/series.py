"""Recurring series writes: the series and its occurrences in one transaction; cancelling one,
this and the following, or all of them, each occurrence refunded by its own tier.

Occurrences are ordinary bookings naming their series: each holds its slot under the
exclusion constraint, is paid and checked in like any other. The world sees each slot's
events; the member hears of the series once (`series.created`, `series.cancelled`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions.bookings import Cancelled, cancel, place
from cowork.actions.quotas import ensure_within
from cowork.domain.quotas import Quotas
from cowork.store.bookings import BookingRow
from cowork.store.events import emit_user_event
from cowork.store.idempotency import store_response
from cowork.store.series import BOOKED, SeriesRow, occurrence_json, series_json
from cowork.store.sql import savepoint

__all__ = ["BOOKED", "announce", "book", "cancel_occurrence", "occurrence_json", "series_json"]


async def book(
    conn: BaseDBAsyncClient,
    row: BookingRow,
    *,
    quotas: Quotas,
    tz: ZoneInfo,
    now: datetime,
    alone: bool,
) -> BookingRow:
    """One occurrence: its quota, its row and public events. `alone`: in a savepoint, so a
    race lost to another node (or a limit reached) undoes this occurrence only."""
    if not alone:
        return await _book(conn, row, quotas, tz, now)
    async with savepoint(conn, "occurrence"):
        return await _book(conn, row, quotas, tz, now)


async def _book(
    conn: BaseDBAsyncClient, row: BookingRow, quotas: Quotas, tz: ZoneInfo, now: datetime
) -> BookingRow:
    await ensure_within(conn, quotas, tz, row, now)
    return await place(conn, row, None, personal=False)


async def cancel_occurrence(
    conn: BaseDBAsyncClient, row: BookingRow, *, reason: str, percent: int, note: str | None
) -> Cancelled | None:
    """Cancel one occurrence owing its own refund; the member hears of all at once."""
    return await cancel(
        conn, row, reason=reason, percent=percent, idem=None, note=note, personal=False
    )


async def announce(
    conn: BaseDBAsyncClient,
    event_type: str,
    series: SeriesRow,
    answer: dict[str, Any],
    *,
    idem: int | None,
    status: int,
) -> None:
    """Tell the member once (`series.created` / `series.cancelled`) and keep the answer."""
    await emit_user_event(
        conn,
        event_type,
        user_id=series.user_id,
        location_id=series.location_id,
        space_id=series.space_id,
        data=answer,
    )
    await store_response(conn, idem, status, answer)
