"""Per-member limits of a location, judged inside the write that would break them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain import quotas
from cowork.domain.quotas import Quotas
from cowork.domain.states import BookingStatus
from cowork.store.bookings import BookingRow
from cowork.store.quotas import usage

WAITING_STATUSES = frozenset({BookingStatus.HELD, BookingStatus.PENDING_APPROVAL})


async def ensure_within(
    conn: BaseDBAsyncClient,
    limits: Quotas,
    tz: ZoneInfo,
    row: BookingRow,
    now: datetime,
    *,
    exclude: int | None = None,
) -> None:
    """Raise QuotaExceededError (409, naming the limit) if `row` would break a limit of its
    location for its member. Call it in the transaction that writes `row`."""
    if not limits.any:
        return
    week = quotas.local_week(row.starts_at, tz)
    used = await usage(
        conn, location_id=row.location_id, user_id=row.user_id, week=week, now=now, exclude=exclude
    )
    quotas.check(
        limits,
        used,
        row.slot,
        is_hold=row.status in WAITING_STATUSES,
        ahead=row.starts_at > now,
    )
