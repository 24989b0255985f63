"""A space's upcoming schedule in memory: which live bookings hold which slots.

Answers availability reads and obvious conflicts without the database; the database still
decides every write. What "holds a slot" means is `domain.states.occupies`, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cowork.domain.errors import SlotTakenError
from cowork.domain.schedule import open_intervals
from cowork.domain.slots import Slot
from cowork.domain.states import LIVE_STATUSES, BookingStatus, hold_lapsed, occupies
from cowork.domain.timeline import Timeline, free_intervals
from cowork.store.bookings import BookingRow, SpaceRules


@dataclass(frozen=True, slots=True)
class Availability:
    busy: list[tuple[Slot, str]]
    free: list[Slot]


class SpaceMemory:
    def __init__(self) -> None:
        self.timeline = Timeline()
        self._status: dict[int, BookingStatus] = {}
        self._expires: dict[int, datetime] = {}  # held booking id → expires_at

    def reset(self, rows: Iterable[BookingRow], now: datetime) -> None:
        self.timeline = Timeline()
        self._status.clear()
        self._expires.clear()
        for row in rows:
            self.remember(row, now)

    def remember(self, row: BookingRow, now: datetime) -> None:
        """Take in a booking's latest state (a row no longer live or already over leaves)."""
        self.timeline.remove(row.id)
        self._status.pop(row.id, None)
        self._expires.pop(row.id, None)
        if row.status in LIVE_STATUSES and row.ends_at > now:
            self.timeline.add(row.id, Slot(row.starts_at, row.ends_at))
            self._status[row.id] = row.status
            if row.expires_at is not None:
                self._expires[row.id] = row.expires_at

    def _occupies(self, booking_id: int, now: datetime) -> bool:
        status = self._status.get(booking_id, BookingStatus.CONFIRMED)
        return occupies(status, self._expires.get(booking_id), now)

    def lapsed_in(self, slot: Slot, now: datetime) -> bool:
        """Does a hold that lapsed (the timer has not expired it yet) overlap `slot`?"""
        return any(
            hold_lapsed(self._status[b], self._expires.get(b), now)
            for b in self.timeline.conflicts(slot)
            if b in self._status
        )

    def raise_if_taken(self, slot: Slot, now: datetime, ignore: int | None = None) -> None:
        for booking_id in self.timeline.conflicts(slot, ignore=ignore):
            if self._occupies(booking_id, now):
                raise SlotTakenError("another booking holds this slot", conflicts=[booking_id])

    def busy(self, window: Slot, now: datetime) -> list[tuple[Slot, str]]:
        """The slots held in `window` at `now`, with the status holding each."""
        return [
            (slot, self._status.get(booking_id, BookingStatus.CONFIRMED).value)
            for booking_id, slot in self.timeline.busy(window)
            if self._occupies(booking_id, now)
        ]

    def availability(self, window: Slot, rules: SpaceRules, now: datetime) -> Availability:
        """Busy slots (held at `now`) and the open, free intervals of `window` still ahead."""
        busy = self.busy(window, now)
        days = {
            window.start.astimezone(rules.tz).date() + timedelta(days=i)
            for i in range((window.end - window.start).days + 2)
        }
        opened = [
            iv
            for day in sorted(days)
            for iv in open_intervals(day, rules.tz, rules.hours, rules.closures)
        ]
        free = free_intervals(window, [s for s, _ in busy], opened)
        return Availability(busy, [f for f in free if f.end > now])
