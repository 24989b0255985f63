"""Waitlist entries in SQL: FIFO per space, one offer pass at a time per space."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from cowork.domain.problems import Problem
from cowork.domain.slots import Slot
from cowork.domain.states import BookingStatus
from cowork.domain.waitlist import OFFER_CANDIDATES, EntryStatus, StoredEntry, entry_status
from cowork.store.db import db
from cowork.store.occupancy import LIVE_SQL, guard_sql

_COLUMNS = "id, space_id, location_id, user_id, starts_at, ends_at, status, booking_id, created_at"

# Joining and offering take turns per space (across nodes): an entry joined while a cancel
# commits is either seen by that cancel's offer pass, or sees the slot free and is refused.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('waitlist:' || $1::int, 0))"


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    space_id: int
    location_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    status: StoredEntry
    booking_id: int | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: Any) -> EntryRow:
        values = {f.name: record[f.name] for f in fields(cls)}
        values["status"] = StoredEntry(values["status"])
        return cls(**values)

    @property
    def slot(self) -> Slot:
        return Slot(self.starts_at, self.ends_at)


async def lock_space(conn: BaseDBAsyncClient, space_id: int) -> None:
    await conn.execute_query(_LOCK, [space_id])


async def taken_guards(conn: BaseDBAsyncClient, space_id: int, within: Slot) -> list[Slot]:
    """Guarded ranges of the space's live bookings that reach into `within` — a lapsed hold
    too: it still stands in the constraint's way until the timer expires it."""
    rows = await conn.execute_query_dict(
        f"SELECT lower({guard_sql('b')}) AS lo, upper({guard_sql('b')}) AS hi FROM bookings b"
        f" WHERE b.space_id = $1 AND b.status IN {LIVE_SQL}"
        f" AND {guard_sql('b')} && tstzrange($2::timestamptz, $3::timestamptz, '[)')",
        [space_id, within.start, within.end],
    )
    return [Slot(r["lo"], r["hi"]) for r in rows]


async def waiting(conn: BaseDBAsyncClient, space_id: int, now: datetime) -> list[EntryRow]:
    """The space's waiting entries whose slot has not begun, oldest first."""
    rows = await conn.execute_query_dict(
        f"SELECT {_COLUMNS} FROM waitlist_entries WHERE space_id = $1 AND status = 'waiting'"
        " AND starts_at > $2 ORDER BY id LIMIT $3",
        [space_id, now, OFFER_CANDIDATES],
    )
    return [EntryRow.from_record(r) for r in rows]


async def live_count(conn: BaseDBAsyncClient, user_id: int, location_id: int, now: datetime) -> int:
    """A member's entries at a location still waiting, or offered and not yet decided."""
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM waitlist_entries w LEFT JOIN bookings b ON b.id = w.booking_id"
        " WHERE w.user_id = $1 AND w.location_id = $2 AND ("
        " (w.status = 'waiting' AND w.starts_at > $3)"
        " OR (w.status = 'offered' AND b.status IN ('held', 'pending_approval')))",
        [user_id, location_id, now],
    )
    return int(rows[0]["n"])


async def insert_entry(
    conn: BaseDBAsyncClient, *, space_id: int, location_id: int, user_id: int, slot: Slot
) -> EntryRow:
    try:
        rows = await conn.execute_query_dict(
            "INSERT INTO waitlist_entries (space_id, location_id, user_id, starts_at, ends_at)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
            [space_id, location_id, user_id, slot.start, slot.end],
        )
    except IntegrityError as exc:  # the unique index: one waiting entry per member and slot
        raise Problem.ALREADY_WAITING.error("You already wait for this slot.") from exc
    return EntryRow.from_record(rows[0])


async def get_entry(entry_id: int, conn: BaseDBAsyncClient | None = None) -> EntryRow | None:
    rows = await (conn or db()).execute_query_dict(
        f"SELECT {_COLUMNS} FROM waitlist_entries WHERE id = $1", [entry_id]
    )
    return EntryRow.from_record(rows[0]) if rows else None


async def set_status(
    conn: BaseDBAsyncClient,
    entry_id: int,
    expected: StoredEntry,
    status: StoredEntry,
    booking_id: int | None = None,
) -> bool:
    """Conditional: only while the entry is still `expected`."""
    rows = await conn.execute_query_dict(
        "UPDATE waitlist_entries SET status = $3, booking_id = coalesce($4, booking_id),"
        " updated_at = now() WHERE id = $1 AND status = $2 RETURNING id",
        [entry_id, expected.value, status.value, booking_id],
    )
    return bool(rows)


async def offer_states(
    booking_ids: list[int],
) -> dict[int, tuple[BookingStatus, datetime | None]]:
    """Status and expiry of the bookings offered to entries (what became of each offer)."""
    if not booking_ids:
        return {}
    rows = await db().execute_query_dict(
        "SELECT id, status, expires_at FROM bookings WHERE id = ANY($1::bigint[])", [booking_ids]
    )
    return {int(r["id"]): (BookingStatus(r["status"]), r["expires_at"]) for r in rows}


def entry_json(
    entry: EntryRow,
    now: datetime,
    offer: tuple[BookingStatus, datetime | None] | None = None,
) -> dict[str, Any]:
    """An entry as the API answers it; `offer`: status and expiry of its offered booking."""
    booking_status, expires_at = offer if offer is not None else (None, None)
    status = entry_status(
        entry.status,
        starts_at=entry.starts_at,
        booking_status=booking_status,
        booking_expires_at=expires_at,
        now=now,
    )
    return {
        "id": entry.id,
        "space_id": entry.space_id,
        "location_id": entry.location_id,
        "start": entry.starts_at.isoformat(),
        "end": entry.ends_at.isoformat(),
        "status": status.value,
        "booking_id": entry.booking_id,
        "offer_expires_at": (
            expires_at.isoformat() if status is EntryStatus.OFFERED and expires_at else None
        ),
        "created_at": entry.created_at.isoformat(),
    }


async def entries_page(
    user_id: int, limit: int, before: int | None, now: datetime
) -> tuple[list[dict[str, Any]], int | None]:
    """A member's entries as the API shows them, newest first, ids below `before`; and the
    last id shown when there are more."""
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM waitlist_entries WHERE user_id = $1 AND id < $2"
        " ORDER BY id DESC LIMIT $3",
        [user_id, before or 2**62, limit + 1],
    )
    entries = [EntryRow.from_record(r) for r in rows[:limit]]
    offers = await offer_states([e.booking_id for e in entries if e.booking_id is not None])
    items = [entry_json(e, now, offers.get(e.booking_id or 0)) for e in entries]
    return items, (entries[-1].id if len(rows) > limit and entries else None)
