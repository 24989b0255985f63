"""Waitlist writes: join, leave, and the offer pass that runs inside every change freeing time.

The offer pass is part of the freeing change's own transaction (a cancel, an expiry, a
no-show, a move): the slot is never free and committed without its first waiting member's
offer, so a crash cannot lose an offer. The offer is a held booking whose deadline is its
lapse, claimed by the timer like any other.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions.bookings import place
from cowork.actions.quotas import ensure_within
from cowork.domain.problems import Problem
from cowork.domain.quotas import QuotaExceededError, Quotas
from cowork.domain.slots import Slot
from cowork.domain.waitlist import (
    MAX_WAITING_PER_LOCATION,
    StoredEntry,
)
from cowork.store import waitlist as store
from cowork.store.bookings import BookingRow, SlotConflict
from cowork.store.idempotency import store_response
from cowork.store.sql import savepoint
from cowork.store.waitlist import EntryRow, entry_json

__all__ = ["candidates", "entry_json", "join", "leave", "offer", "taken"]

OFFER_EVENT = "waitlist.offer"


async def join(
    conn: BaseDBAsyncClient,
    *,
    space_id: int,
    location_id: int,
    user_id: int,
    slot: Slot,
    guard: Slot,
    now: datetime,
    idem: int | None,
) -> EntryRow:
    """Queue a member for a slot that something holds now (a free slot is booked instead)."""
    await store.lock_space(conn, space_id)
    if not await store.taken_guards(conn, space_id, guard):
        raise Problem.SLOT_AVAILABLE.error("Nothing holds this slot: book it.")
    if await store.live_count(conn, user_id, location_id, now) >= MAX_WAITING_PER_LOCATION:
        raise Problem.WAITLIST_FULL.error(
            f"You wait for {MAX_WAITING_PER_LOCATION} slots here already.",
            allowed=MAX_WAITING_PER_LOCATION,
        )
    entry = await store.insert_entry(
        conn, space_id=space_id, location_id=location_id, user_id=user_id, slot=slot
    )
    await store_response(conn, idem, 201, entry_json(entry, now))
    return entry


async def leave(conn: BaseDBAsyncClient, entry: EntryRow) -> bool:
    """Leave the queue (the caller cancels an open offer's hold in the same transaction)."""
    return await store.set_status(conn, entry.id, entry.status, StoredEntry.LEFT)


async def candidates(conn: BaseDBAsyncClient, space_id: int, now: datetime) -> list[EntryRow]:
    """Take the space's offer turn, then its waiting entries, oldest first."""
    await store.lock_space(conn, space_id)
    return await store.waiting(conn, space_id, now)


async def taken(conn: BaseDBAsyncClient, space_id: int, guards: list[Slot]) -> list[Slot]:
    """The guarded ranges of live bookings reaching into the span of `guards`."""
    span = Slot(min(g.start for g in guards), max(g.end for g in guards))
    return await store.taken_guards(conn, space_id, span)


async def offer(
    conn: BaseDBAsyncClient,
    entry: EntryRow,
    row: BookingRow,
    *,
    quotas: Quotas,
    tz: ZoneInfo,
    now: datetime,
) -> BookingRow | None:
    """Offer `row` (a hold, or a request where approval is needed) to the entry's member:
    the world sees the slot held, the member gets `waitlist.offer`. None when the slot was
    won by another writer meanwhile or the member is at a limit (the entry keeps waiting)."""
    until = row.expires_at.isoformat() if row.expires_at else None
    try:
        async with savepoint(conn, "offer"):
            await ensure_within(conn, quotas, tz, row, now)
            placed = await place(
                conn, row, None, personal_type=OFFER_EVENT, until=until, waitlist_id=entry.id
            )
            if not await store.set_status(
                conn, entry.id, StoredEntry.WAITING, StoredEntry.OFFERED, placed.id
            ):
                raise _EntryGone
    except (SlotConflict, QuotaExceededError, _EntryGone):
        return None
    return placed


class _EntryGone(Exception):
    """The member left while the offer was being made: undo it."""
