"""Recurring series in SQL: the rule as given, and its occurrences (bookings naming it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.problems import Problem
from cowork.domain.recurrence import Recurrence, SeriesMode
from cowork.domain.slots import Slot
from cowork.store.bookings import COLUMNS, BookingRow
from cowork.store.db import db

BOOKED = "booked"  # an occurrence's outcome; otherwise the problem code that refused it
_COLUMNS = (
    "id, space_id, location_id, user_id, rrule, first_date, start_time, duration_minutes,"
    " timezone, mode, created_at"
)


@dataclass(frozen=True, slots=True)
class SeriesRow:
    id: int
    space_id: int
    location_id: int
    user_id: int
    rrule: str
    first_date: date
    start_time: time
    duration_minutes: int
    timezone: str
    mode: SeriesMode
    created_at: datetime

    @classmethod
    def from_record(cls, record: Any) -> SeriesRow:
        values = {f.name: record[f.name] for f in fields(cls)}
        values["mode"] = SeriesMode(values["mode"])
        return cls(**values)


async def insert(
    conn: BaseDBAsyncClient,
    *,
    space_id: int,
    location_id: int,
    user_id: int,
    recurrence: Recurrence,
    timezone: str,
    mode: SeriesMode,
) -> SeriesRow:
    rows = await conn.execute_query_dict(
        "INSERT INTO booking_series (space_id, location_id, user_id, rrule, first_date,"
        " start_time, duration_minutes, timezone, mode)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_COLUMNS}",
        [
            space_id,
            location_id,
            user_id,
            recurrence.rule,
            recurrence.first_date,
            recurrence.start_time,
            recurrence.duration_minutes,
            timezone,
            mode.value,
        ],
    )
    return SeriesRow.from_record(rows[0])


async def get(series_id: int) -> SeriesRow | None:
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM booking_series WHERE id = $1", [series_id]
    )
    return SeriesRow.from_record(rows[0]) if rows else None


async def occurrences(series_id: int) -> list[BookingRow]:
    """Every booking of the series, in start order (whatever their status)."""
    rows = await db().execute_query_dict(
        f"SELECT {COLUMNS} FROM bookings WHERE series_id = $1 ORDER BY starts_at", [series_id]
    )
    return [BookingRow.from_record(r) for r in rows]


def occurrence_json(slot: Slot, outcome: str, booking: BookingRow | None) -> dict[str, Any]:
    return {
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "outcome": outcome,
        "booking": booking.to_json() if booking is not None else None,
    }


def series_json(series: SeriesRow, occurrences: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": series.id,
        "space_id": series.space_id,
        "location_id": series.location_id,
        "user_id": series.user_id,
        "rrule": series.rrule,
        "first_date": series.first_date.isoformat(),
        "start_time": series.start_time.strftime("%H:%M"),
        "duration_minutes": series.duration_minutes,
        "timezone": series.timezone,
        "mode": series.mode.value,
        "created_at": series.created_at.isoformat(),
        "occurrences": occurrences,
    }


async def visible_detail(series_id: int, may_act_on: Callable[[int, int], bool]) -> dict[str, Any]:
    """A series and all its occurrences, if `may_act_on(owner, location)`; else not found."""
    series = await get(series_id)
    if series is None or not may_act_on(series.user_id, series.location_id):
        raise Problem.SERIES_NOT_FOUND.error(f"No series {series_id} of yours.")
    rows = await occurrences(series_id)
    return series_json(series, [occurrence_json(r.slot, BOOKED, r) for r in rows])


async def page_of(
    user_id: int, limit: int, before: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """A member's series, newest first, each with its occurrences; the last id when more."""
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM booking_series WHERE user_id = $1 AND id < $2"
        " ORDER BY id DESC LIMIT $3",
        [user_id, before or 2**62, limit + 1],
    )
    found = [SeriesRow.from_record(r) for r in rows[:limit]]
    booked = await db().execute_query_dict(
        f"SELECT {COLUMNS} FROM bookings WHERE series_id = ANY($1::bigint[]) ORDER BY starts_at",
        [[s.id for s in found]],
    )
    by_series: dict[int, list[dict[str, Any]]] = {s.id: [] for s in found}
    for record in booked:
        row = BookingRow.from_record(record)
        by_series[record["series_id"]].append(occurrence_json(row.slot, BOOKED, row))
    items = [series_json(s, by_series[s.id]) for s in found]
    return items, (found[-1].id if len(rows) > limit and found else None)
