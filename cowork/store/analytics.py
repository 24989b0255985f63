"""Reporting reads in SQL: dashboard, booking lists, analytics aggregates, timer deadlines.

Every statement is assembled from this module's constants; every value is a $n parameter.
Local calendars are resolved in Python (`domain/occupancy.py`) and passed as per-location
UTC bounds, so SQL never guesses a time zone and DST is handled once, in one place.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cowork.domain.schedule import Closure, WeeklyHours
from cowork.domain.slots import Slot
from cowork.domain.states import FLOOR_LABELS, BookingStatus
from cowork.domain.timezones import load_zone
from cowork.store.db import db
from cowork.store.occupancy import current_sql

# What counts where (docs/analytics.md defines each figure).
PAID = "('succeeded', 'partially_refunded', 'refunded')"
REFUNDED = "('queued', 'pending', 'requires_action', 'succeeded')"
OCCUPYING = "('confirmed', 'checked_in', 'completed')"
# Unpaid holds and requests nobody approved (pending or declined) are not bookings yet.
NOT_A_BOOKING = "('held', 'expired', 'pending_approval', 'declined')"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class LocationInfo:
    id: int
    name: str
    timezone: str
    currency: str
    hours: WeeklyHours
    closures: tuple[Closure, ...]
    spaces_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return load_zone(self.timezone)

    @property
    def spaces(self) -> int:
        return sum(self.spaces_by_type.values())


async def existing_location_ids(ids: Sequence[int]) -> set[int]:
    rows = await db().execute_query_dict(
        "SELECT id FROM locations WHERE id = ANY($1::int[])", [list(ids)]
    )
    return {int(r["id"]) for r in rows}


async def space_location(space_id: int) -> int | None:
    rows = await db().execute_query_dict("SELECT location_id FROM spaces WHERE id = $1", [space_id])
    return int(rows[0]["location_id"]) if rows else None


async def locations(ids: Sequence[int] | None) -> list[LocationInfo]:
    """The locations (all when `ids` is None), with closures and active spaces per type."""
    where, params = ("WHERE l.id = ANY($1::int[])", [list(ids)]) if ids is not None else ("", [])
    rows = await db().execute_query_dict(
        "SELECT l.id, l.name, l.timezone, l.currency, l.opening_hours,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_array(c.start_date, c.end_date)), '[]')"
        "  FROM closures c WHERE c.location_id = l.id) AS closures,"
        " (SELECT coalesce(jsonb_object_agg(t.type, t.n), '{}') FROM (SELECT s.type, count(*) AS n"
        "  FROM spaces s WHERE s.location_id = l.id AND s.active GROUP BY s.type) t) AS spaces"
        f" FROM locations l {where} ORDER BY l.id",
        params,
    )
    return [
        LocationInfo(
            id=r["id"],
            name=r["name"],
            timezone=r["timezone"],
            currency=r["currency"],
            hours=WeeklyHours.from_dict(_json(r["opening_hours"]) or {}),
            closures=tuple(
                Closure(date.fromisoformat(a), date.fromisoformat(b))
                for a, b in _json(r["closures"])
            ),
            spaces_by_type={str(k): int(v) for k, v in _json(r["spaces"]).items()},
        )
        for r in rows
    ]


# Reports aggregate hundreds of thousands of rows: give their sorts and hashes room in memory
# (per statement, for this transaction only) instead of spilling to disk.
REPORT_WORK_MEM = "64MB"
# The stock 4.0 assumes spinning disks and steers joins of a few thousand rows into sequential
# scans of all bookings; on SSDs (or a warm cache) index lookups cost about as much as reads.
REPORT_RANDOM_PAGE_COST = 1.1


async def _report(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    async with db()._in_transaction() as conn:
        await conn.execute_query(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        await conn.execute_query(f"SET LOCAL random_page_cost = {REPORT_RANDOM_PAGE_COST}")
        return await conn.execute_query_dict(sql, params)


def _bounds(scopes: Sequence[tuple[int, Slot]]) -> list[Any]:
    return [[i for i, _ in scopes], [s.start for _, s in scopes], [s.end for _, s in scopes]]


_SCOPE = (
    "scope AS (SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[])"
    " AS s(location_id, lo, hi))"
)


# Analytics


async def booking_figures(periods: Sequence[tuple[int, Slot]]) -> dict[int, dict[str, Any]]:
    """Per location: counts by outcome and mean lead time of bookings starting in its period."""
    rows = await _report(
        f"WITH {_SCOPE} SELECT s.location_id,"
        f" count(*) FILTER (WHERE b.status NOT IN {NOT_A_BOOKING}) AS bookings,"
        " count(*) FILTER (WHERE b.status = 'cancelled') AS cancelled,"
        " count(*) FILTER (WHERE b.status = 'no_show') AS no_shows,"
        " count(*) FILTER (WHERE b.status IN ('checked_in', 'completed', 'no_show'))"
        "   AS started,"
        " count(*) FILTER (WHERE b.status = 'expired') AS expired_holds,"
        " avg(date_part('epoch', b.starts_at - b.created_at))"
        f"   FILTER (WHERE b.status NOT IN {NOT_A_BOOKING}) AS lead_seconds"
        " FROM scope s LEFT JOIN bookings b ON b.location_id = s.location_id"
        "  AND b.starts_at >= s.lo AND b.starts_at < s.hi"
        " GROUP BY s.location_id",
        _bounds(periods),
    )
    return {int(r["location_id"]): r for r in rows}


async def booked_seconds(open_time: Sequence[tuple[int, Slot]]) -> dict[tuple[int, str], float]:
    """(location, space type) → seconds of occupying bookings of active spaces inside open time.

    Each booking is clipped to each open interval it overlaps; a location's open intervals
    never overlap each other, so the sum is exact. Time outside opening hours, on closed days
    or outside the period never counts. The LATERAL aggregate keeps the plan one GiST probe
    per open interval (a hash join would test every booking against every interval).
    """
    if not open_time:
        return {}
    rows = await _report(
        "WITH per_space AS (SELECT x.space_id, sum(x.seconds) AS seconds"
        " FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[]) AS o(location_id, lo, hi)"
        " CROSS JOIN LATERAL (SELECT b.space_id, sum(date_part('epoch',"
        "   least(b.ends_at, o.hi) - greatest(b.starts_at, o.lo))) AS seconds"
        "  FROM bookings b WHERE b.location_id = o.location_id"
        f"  AND b.status IN {OCCUPYING}"
        "  AND tstzrange(b.starts_at, b.ends_at, '[)') && tstzrange(o.lo, o.hi, '[)')"
        "  GROUP BY b.space_id) x GROUP BY x.space_id)"
        " SELECT sp.location_id, sp.type, sum(ps.seconds) AS seconds"
        " FROM per_space ps JOIN spaces sp ON sp.id = ps.space_id AND sp.active"
        " GROUP BY sp.location_id, sp.type",
        _bounds(open_time),
    )
    return {(int(r["location_id"]), str(r["type"])): float(r["seconds"] or 0) for r in rows}


async def money(periods: Sequence[tuple[int, Slot]]) -> dict[int, tuple[int, int]]:
    """Per location: (paid, refunded) cents whose money moved within its period (cash basis)."""
    if not periods:
        return {}
    rows = await _report(
        f"WITH {_SCOPE}, moved AS ("
        "  SELECT b.location_id, p.created_at AS at, p.amount_cents AS paid, 0 AS refunded"
        "  FROM payments p JOIN bookings b ON b.id = p.booking_id"
        "   AND b.location_id = ANY($1::int[])"
        f"  WHERE p.status IN {PAID} AND p.created_at >= $4 AND p.created_at < $5"
        "  UNION ALL"
        "  SELECT b.location_id, r.created_at, 0, r.amount_cents"
        "  FROM refunds r JOIN payments p ON p.id = r.payment_id"
        "  JOIN bookings b ON b.id = p.booking_id AND b.location_id = ANY($1::int[])"
        f"  WHERE r.status IN {REFUNDED} AND r.created_at >= $4 AND r.created_at < $5)"
        " SELECT s.location_id, coalesce(sum(m.paid), 0) AS paid,"
        " coalesce(sum(m.refunded), 0) AS refunded"
        " FROM scope s LEFT JOIN moved m ON m.location_id = s.location_id"
        "  AND m.at >= s.lo AND m.at < s.hi GROUP BY s.location_id",
        # The overall span and the locations as plain parameters, so the planner sees how many
        # rows each side selects and starts from the smaller (payments by date, or bookings of
        # a few locations).
        [*_bounds(periods), min(p.start for _, p in periods), max(p.end for _, p in periods)],
    )
    return {int(r["location_id"]): (int(r["paid"]), int(r["refunded"])) for r in rows}


async def hourly_starts(
    periods: Sequence[tuple[int, Slot]], zones: Sequence[str]
) -> list[dict[str, Any]]:
    """Bookings by the local hour of their start (a local timestamp truncated to the hour).

    One pass serves both the daily series and the weekday-by-hour heatmap.
    """
    return await _report(
        "SELECT date_trunc('hour', b.starts_at AT TIME ZONE s.tz) AS hour, count(*) AS bookings,"
        " count(*) FILTER (WHERE b.status = 'cancelled') AS cancelled,"
        " count(*) FILTER (WHERE b.status = 'no_show') AS no_shows"
        " FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[], $4::text[])"
        "  AS s(location_id, lo, hi, tz)"
        " JOIN bookings b ON b.location_id = s.location_id"
        f"  AND b.starts_at >= s.lo AND b.starts_at < s.hi AND b.status NOT IN {NOT_A_BOOKING}"
        " GROUP BY 1",
        [*_bounds(periods), list(zones)],
    )


# Dashboard


async def space_states(location_ids: Sequence[int], now: datetime) -> dict[int, dict[str, int]]:
    """Per location: active spaces by what holds them right now (as on the floor map)."""
    rows = await db().execute_query_dict(
        "SELECT s.location_id, cur.status, count(*) AS n FROM spaces s"
        f" LEFT JOIN LATERAL ({current_sql('s', '$2', 'b.status')}) cur ON true"
        " WHERE s.location_id = ANY($1::int[]) AND s.active GROUP BY 1, 2",
        [list(location_ids), now],
    )
    out: dict[int, dict[str, int]] = {
        i: dict.fromkeys(FLOOR_LABELS.values(), 0) for i in location_ids
    }
    for r in rows:
        status = None if r["status"] is None else BookingStatus(r["status"])
        out[int(r["location_id"])][FLOOR_LABELS[status]] += int(r["n"])
    return out


async def arrivals(
    location_ids: Sequence[int], now: datetime, until: datetime, limit: int = 50
) -> list[dict[str, Any]]:
    """Confirmed bookings starting in [now, until), soonest first."""
    return await db().execute_query_dict(
        "SELECT b.id, b.location_id, b.space_id, sp.name AS space_name, b.user_id,"
        " b.starts_at, b.ends_at FROM bookings b JOIN spaces sp ON sp.id = b.space_id"
        " WHERE b.location_id = ANY($1::int[]) AND b.status = 'confirmed'"
        " AND b.starts_at >= $2 AND b.starts_at < $3 ORDER BY b.starts_at, b.id LIMIT $4",
        [list(location_ids), now, until, limit],
    )


async def live_counts(
    location_ids: Sequence[int], now: datetime, until: datetime, today: Sequence[tuple[int, Slot]]
) -> dict[int, dict[str, int]]:
    """Per location: arrivals before `until`, unexpired holds, and no-shows of its local today."""
    rows = await db().execute_query_dict(
        f"WITH {_SCOPE} SELECT s.location_id,"
        " (SELECT count(*) FROM bookings b WHERE b.location_id = s.location_id"
        "  AND b.status = 'confirmed' AND b.starts_at >= $4 AND b.starts_at < $5) AS arrivals,"
        " (SELECT count(*) FROM bookings b WHERE b.location_id = s.location_id"
        "  AND b.status = 'held' AND b.expires_at > $4) AS open_holds,"
        " (SELECT count(*) FROM bookings b WHERE b.location_id = s.location_id"
        "  AND b.status = 'no_show' AND b.starts_at >= s.lo AND b.starts_at < s.hi) AS no_shows"
        " FROM scope s",
        [*_bounds(today), now, until],
    )
    return {int(r["location_id"]): r for r in rows}


# Booking lists (manage/bookings)


@dataclass(frozen=True, slots=True)
class BookingFilter:
    location_ids: list[int] | None  # None: every location (admins)
    space_id: int | None = None
    statuses: tuple[str, ...] = ()
    user_id: int | None = None
    email: str | None = None
    first: date | None = None  # local date of the start, inclusive
    last: date | None = None


BOOKING_FIELDS = (
    "id",
    "location_id",
    "space_id",
    "space_name",
    "user_id",
    "user_email",
    "start",
    "end",
    "status",
    "price_cents",
    "currency",
    "created_at",
    "expires_at",
    "checked_in_at",
    "cancel_reason",
)


def _booking_where(spec: BookingFilter, params: list[Any]) -> list[str]:
    where: list[str] = []

    def add(condition: str, value: Any) -> None:
        params.append(value)
        where.append(condition.replace("?", f"${len(params)}"))

    if spec.location_ids is not None:
        add("b.location_id = ANY(?::int[])", spec.location_ids)
    if spec.space_id is not None:
        add("b.space_id = ?", spec.space_id)
    if spec.statuses:
        add("b.status = ANY(?::text[])", list(spec.statuses))
    if spec.user_id is not None:
        add("b.user_id = ?", spec.user_id)
    if spec.email is not None:
        add("lower(u.email) = lower(?)", spec.email)
    # The location's local midnight, DST-correct: timestamp AT TIME ZONE zone → timestamptz.
    if spec.first is not None:
        add("b.starts_at >= (?::date::timestamp AT TIME ZONE l.timezone)", spec.first)
    if spec.last is not None:
        add("b.starts_at < ((?::date + 1)::timestamp AT TIME ZONE l.timezone)", spec.last)
    return where


def booking_row(r: dict[str, Any]) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": r["id"],
        "location_id": r["location_id"],
        "space_id": r["space_id"],
        "space_name": r["space_name"],
        "user_id": r["user_id"],
        "user_email": r["user_email"],
        "start": r["starts_at"].isoformat(),
        "end": r["ends_at"].isoformat(),
        "status": r["status"],
        "price_cents": r["price_cents"],
        "currency": r["currency"],
        "created_at": r["created_at"].isoformat(),
        "expires_at": iso(r["expires_at"]),
        "checked_in_at": iso(r["checked_in_at"]),
        "cancel_reason": r["cancel_reason"],
    }


async def bookings(
    spec: BookingFilter, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Matching bookings, newest (highest id) first; `before_id` continues a page."""
    params: list[Any] = []
    where = _booking_where(spec, params)
    if before_id is not None:
        params.append(before_id)
        where.append(f"b.id < ${len(params)}")
    params.append(limit)
    sql = (
        "SELECT b.id, b.location_id, b.space_id, sp.name AS space_name, b.user_id,"
        " u.email AS user_email, b.starts_at, b.ends_at, b.status, b.price_cents, b.currency,"
        " b.created_at, b.expires_at, b.checked_in_at, b.cancel_reason"
        " FROM bookings b JOIN spaces sp ON sp.id = b.space_id JOIN users u ON u.id = b.user_id"
        " JOIN locations l ON l.id = b.location_id"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY b.id DESC LIMIT ${len(params)}"
    )
    return [booking_row(r) for r in await db().execute_query_dict(sql, params)]


async def all_bookings(spec: BookingFilter, chunk: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every matching booking, newest first, read in keyset chunks (for exports)."""
    before: int | None = None
    while True:
        rows = await bookings(spec, before_id=before, limit=chunk)
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        before = rows[-1]["id"]
