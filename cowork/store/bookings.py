"""Booking queries in SQL: the write path's statements are few, hot and must be exact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import ConfigDict, with_config
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from typing_extensions import TypedDict

from cowork.domain.buffers import NO_BUFFERS, Buffers
from cowork.domain.policy import DEFAULT_POLICY, CancellationPolicy
from cowork.domain.schedule import BookingLimits, Closure, WeeklyHours
from cowork.domain.slots import Slot
from cowork.domain.states import FLOOR_LABELS, LIVE_STATUSES, TURNAROUND_LABEL, BookingStatus
from cowork.domain.timezones import load_zone
from cowork.store.db import db
from cowork.store.events import BookingFacts
from cowork.store.occupancy import current_sql, guard_sql, next_sql, turnaround_sql

COLUMNS = (
    "id, space_id, location_id, user_id, starts_at, ends_at, status, price_cents, currency, "
    "expires_at, deadline_at, checked_in_at, cancel_reason, created_at, "
    "buffer_before_minutes, buffer_after_minutes, series_id"
)
LIVE = tuple(s.value for s in LIVE_STATUSES)


@with_config(ConfigDict(extra="forbid"))
class BookingJson(TypedDict):
    """A booking as the API answers it (the one declaration: `to_json` builds it, the OpenAPI
    document describes it)."""

    id: int
    space_id: int
    location_id: int
    user_id: int
    start: datetime
    end: datetime
    status: BookingStatus
    price_cents: int
    currency: str
    expires_at: datetime | None
    checked_in_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    series_id: int | None  # the recurring series it is an occurrence of


@dataclass(frozen=True, slots=True)
class BookingRow:
    id: int
    space_id: int
    location_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    price_cents: int
    currency: str
    expires_at: datetime | None
    deadline_at: datetime | None
    checked_in_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    series_id: int | None = None

    @property
    def slot(self) -> Slot:
        return Slot(self.starts_at, self.ends_at)

    @property
    def buffers(self) -> Buffers:
        return Buffers(self.buffer_before_minutes, self.buffer_after_minutes)

    @classmethod
    def from_record(cls, record: Any) -> BookingRow:
        values = {name: record[name] for name in _ROW_FIELDS}
        values["status"] = BookingStatus(values["status"])
        return cls(**values)

    def facts(self) -> BookingFacts:
        return BookingFacts(
            self.id,
            self.space_id,
            self.location_id,
            self.user_id,
            self.starts_at,
            self.ends_at,
            self.status.value,
            self.price_cents,
            self.currency,
            self.expires_at,
        )

    def to_json(self) -> dict[str, Any]:
        """The BookingJson document, with times as ISO-8601 strings."""
        body: dict[str, Any] = {
            "id": self.id,
            "space_id": self.space_id,
            "location_id": self.location_id,
            "user_id": self.user_id,
            "start": self.starts_at.isoformat(),
            "end": self.ends_at.isoformat(),
            "status": self.status.value,
            "price_cents": self.price_cents,
            "currency": self.currency,
            "expires_at": _iso(self.expires_at),
            "checked_in_at": _iso(self.checked_in_at),
            "cancel_reason": self.cancel_reason,
            "created_at": self.created_at.isoformat(),
            "series_id": self.series_id,
        }
        return body


_ROW_FIELDS = tuple(f.name for f in fields(BookingRow))


def _status(value: str | None) -> BookingStatus | None:
    return None if value is None else BookingStatus(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class SpaceRules:
    """Everything the space actor needs to judge a request, in domain terms."""

    space_id: int
    location_id: int
    active: bool
    hourly_cents: int
    daily_cents: int | None
    currency: str
    tz: ZoneInfo
    hours: WeeklyHours
    closures: tuple[Closure, ...]
    limits: BookingLimits
    policy: CancellationPolicy
    buffers: Buffers = NO_BUFFERS
    requires_approval: bool = False


async def load_rules(space_id: int) -> SpaceRules | None:
    rows = await db().execute_query_dict(
        "SELECT s.id, s.location_id, s.active AND l.active AS active, s.hourly_price_cents, "
        "s.daily_price_cents, l.currency, l.timezone, l.opening_hours, l.booking_rules, "
        "l.cancellation_policy, s.buffer_before_minutes, s.buffer_after_minutes, "
        "s.requires_approval FROM spaces s JOIN locations l ON l.id = s.location_id "
        "WHERE s.id = $1",
        [space_id],
    )
    if not rows:
        return None
    r = rows[0]
    policy = _json(r["cancellation_policy"])
    closures = await db().execute_query_dict(
        "SELECT start_date, end_date, reason FROM closures WHERE location_id = $1 "
        "AND end_date >= current_date - 1",
        [r["location_id"]],
    )
    return SpaceRules(
        space_id=r["id"],
        location_id=r["location_id"],
        active=r["active"],
        hourly_cents=r["hourly_price_cents"],
        daily_cents=r["daily_price_cents"],
        currency=r["currency"],
        tz=load_zone(r["timezone"]),
        hours=WeeklyHours.from_dict(_json(r["opening_hours"])),
        closures=tuple(Closure(c["start_date"], c["end_date"], c["reason"]) for c in closures),
        limits=BookingLimits(**_json(r["booking_rules"])),
        policy=CancellationPolicy.from_list(policy) if policy else DEFAULT_POLICY,
        buffers=Buffers(r["buffer_before_minutes"], r["buffer_after_minutes"]),
        requires_approval=r["requires_approval"],
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def live_bookings(space_id: int, ending_after: datetime) -> list[BookingRow]:
    """The space's live bookings whose guarded range (turnaround included) is not over."""
    rows = await db().execute_query_dict(
        f"SELECT {COLUMNS} FROM bookings b WHERE space_id = $1 AND status = ANY($2::text[]) "
        f"AND upper({guard_sql('b')}) > $3 ORDER BY starts_at",
        [space_id, list(LIVE), ending_after],
    )
    return [BookingRow.from_record(r) for r in rows]


async def get_booking(booking_id: int, conn: BaseDBAsyncClient | None = None) -> BookingRow | None:
    rows = await (conn or db()).execute_query_dict(
        f"SELECT {COLUMNS} FROM bookings WHERE id = $1", [booking_id]
    )
    return BookingRow.from_record(rows[0]) if rows else None


class SlotConflict(Exception):
    """The database refused an overlapping live booking (SQLSTATE 23P01)."""


def is_exclusion_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__ or (exc.args[0] if exc.args else None)
    return isinstance(cause, asyncpg.exceptions.ExclusionViolationError)


async def next_booking_ids(count: int) -> list[int]:
    """Reserve booking ids, so a hold's row, events and response go out in one statement."""
    rows = await db().execute_query_dict(
        "SELECT nextval('bookings_id_seq') AS id FROM generate_series(1, $1)", [count]
    )
    return [int(r["id"]) for r in rows]


async def update_booking(
    conn: BaseDBAsyncClient, booking_id: int, expected: Sequence[BookingStatus], **changes: Any
) -> BookingRow | None:
    """Conditional update: applies only while the booking is in one of `expected` states."""
    assignments, values = [], []
    for i, (column, value) in enumerate(changes.items(), start=3):
        assignments.append(f"{column} = ${i}")
        values.append(value.value if isinstance(value, BookingStatus) else value)
    try:
        rows = await conn.execute_query_dict(
            f"UPDATE bookings SET {', '.join(assignments)}, updated_at = now() "
            f"WHERE id = $1 AND status = ANY($2::text[]) RETURNING {COLUMNS}",
            [booking_id, [s.value for s in expected], *values],
        )
    except IntegrityError as exc:
        if is_exclusion_violation(exc):
            raise SlotConflict from exc
        raise
    return BookingRow.from_record(rows[0]) if rows else None


async def stale_holds(conn: BaseDBAsyncClient, space_id: int, now: datetime) -> list[int]:
    rows = await conn.execute_query_dict(
        "SELECT id FROM bookings WHERE space_id = $1 AND status = 'held' AND expires_at <= $2 "
        "FOR UPDATE SKIP LOCKED",
        [space_id, now],
    )
    return [r["id"] for r in rows]


async def claim_due(
    now: datetime, lease: timedelta, limit: int = 100
) -> list[tuple[int, int, datetime]]:
    """Claim due deadlines for this node: push each one `lease` ahead so nobody else takes it.

    If the node dies before acting, the lease lapses and another node claims it again; the
    actor's conditional update makes a second attempt a no-op.
    """
    rows = await db().execute_query_dict(
        "WITH due AS (SELECT id, deadline_at FROM bookings WHERE deadline_at <= $1"
        " ORDER BY deadline_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
        " UPDATE bookings b SET deadline_at = $2 FROM due WHERE b.id = due.id"
        " RETURNING b.id, b.space_id, due.deadline_at AS due_at",
        [now, now + lease, limit],
    )
    return [(r["id"], r["space_id"], r["due_at"]) for r in rows]


async def next_deadline_at() -> datetime | None:
    rows = await db().execute_query_dict(
        "SELECT min(deadline_at) AS at FROM bookings WHERE deadline_at IS NOT NULL"
    )
    at: datetime | None = rows[0]["at"] if rows else None
    return at


def _floor_status(r: dict[str, Any]) -> dict[str, Any]:
    """The booking holding the space, else the turnaround of one (its buffer), else free."""
    if r["status"] is None and r["turnaround_until"] is not None:
        return {"status": TURNAROUND_LABEL, "until": _iso(r["turnaround_until"])}
    return {"status": FLOOR_LABELS[_status(r["status"])], "until": _iso(r["until"])}


async def floor_snapshot(
    location_id: int, now: datetime, at: datetime | None = None
) -> dict[str, Any] | None:
    """Status of every active space of a location at `at` (default `now`), as known `now`:
    a hold counts while it is live now, whatever instant is shown (one query)."""
    at = at or now
    locations = await db().execute_query_dict(
        "SELECT floors FROM locations WHERE id = $1 AND active", [location_id]
    )
    if not locations:
        return None
    rows = await db().execute_query_dict(
        "SELECT s.id, s.name, s.type, s.capacity, s.floor, s.x, s.y, s.width, s.height,"
        " cur.status, cur.ends_at AS until, nxt.starts_at AS next_start,"
        " trn.ends_at AS turnaround_until FROM spaces s"
        f" LEFT JOIN LATERAL ({current_sql('s', '$2', known='$3')}) cur ON true"
        f" LEFT JOIN LATERAL ({next_sql('s', '$2', known='$3')}) nxt ON true"
        f" LEFT JOIN LATERAL ({turnaround_sql('s', '$2', known='$3')}) trn ON cur.status IS NULL"
        " WHERE s.location_id = $1 AND s.active ORDER BY s.floor, s.id",
        [location_id, at, now],
    )
    spaces = [
        {
            **{
                k: r[k]
                for k in ("id", "name", "type", "capacity", "floor", "x", "y", "width", "height")
            },
            **_floor_status(r),
            "next_start": _iso(r["next_start"]),
        }
        for r in rows
    ]
    return {
        "location_id": location_id,
        "at": at.isoformat(),
        "floors": _json(locations[0]["floors"]),
        "spaces": spaces,
    }


async def pending_approvals(
    location_id: int, limit: int, after: int
) -> tuple[list[dict[str, Any]], int | None]:
    """A location's requests awaiting approval, oldest first, ids above `after`; and the last
    id shown when there are more."""
    rows = await db().execute_query_dict(
        f"SELECT {COLUMNS} FROM bookings WHERE location_id = $1 AND status = $2 AND id > $3"
        " ORDER BY id LIMIT $4",
        [location_id, BookingStatus.PENDING_APPROVAL.value, after, limit + 1],
    )
    found = [BookingRow.from_record(r) for r in rows[:limit]]
    return [r.to_json() for r in found], (found[-1].id if len(rows) > limit and found else None)
