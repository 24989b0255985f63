"""A space's upcoming schedule in memory: which live bookings guard which ranges.

Answers availability reads and obvious conflicts without the database; the database still
decides every write. What "holds a slot" means is `domain.states.occupies`, nothing else; the
range a booking keeps from others is its slot widened by its buffers (`domain.buffers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cowork.domain.buffers import Buffers, blocked_for_new, guarded, turnaround
from cowork.domain.errors import SlotTakenError
from cowork.domain.schedule import open_intervals
from cowork.domain.slots import Slot
from cowork.domain.states import LIVE_STATUSES, hold_lapsed, occupies
from cowork.domain.timeline import Timeline, free_intervals
from cowork.store.bookings import BookingRow, SpaceRules

BUFFER = "buffer"  # the status availability shows for a booking's turnaround


@dataclass(frozen=True, slots=True)
class Availability:
    busy: list[tuple[Slot, str]]
    free: list[Slot]


class SpaceMemory:
    def __init__(self) -> None:
        self.timeline = Timeline()  # guarded ranges (never overlapping, like the constraint's)
        self._rows: dict[int, BookingRow] = {}

    def reset(self, rows: Iterable[BookingRow], now: datetime) -> None:
        self.timeline = Timeline()
        self._rows.clear()
        for row in rows:
            self.remember(row, now)

    def remember(self, row: BookingRow, now: datetime) -> None:
        """Take in a booking's latest state (a row no longer live, or whose turnaround is
        over too, leaves)."""
        self.timeline.remove(row.id)
        self._rows.pop(row.id, None)
        guard = guarded(row.slot, row.buffers)
        if row.status in LIVE_STATUSES and guard.end > now:
            self.timeline.add(row.id, guard)
            self._rows[row.id] = row

    def _occupies(self, booking_id: int, now: datetime) -> bool:
        row = self._rows.get(booking_id)
        return row is None or occupies(row.status, row.expires_at, now)

    def lapsed_in(self, guard: Slot, now: datetime) -> bool:
        """Does a hold that lapsed (the timer has not expired it yet) overlap `guard`?"""
        return any(
            hold_lapsed(row.status, row.expires_at, now)
            for b in self.timeline.conflicts(guard)
            if (row := self._rows.get(b)) is not None
        )

    def raise_if_taken(self, guard: Slot, now: datetime, ignore: int | None = None) -> None:
        """Refuse a wanted guarded range that overlaps one a live booking keeps."""
        for booking_id in self.timeline.conflicts(guard, ignore=ignore):
            if self._occupies(booking_id, now):
                raise SlotTakenError("another booking holds this slot", conflicts=[booking_id])

    def busy(self, window: Slot, now: datetime) -> list[tuple[Slot, str]]:
        """The slots held in `window` at `now` with the status holding each, and the
        turnaround around them as `buffer`."""
        found: list[tuple[Slot, str]] = []
        for booking_id, _ in self.timeline.busy(window):
            row = self._rows.get(booking_id)
            if row is None or not self._occupies(booking_id, now):
                continue
            parts = [(row.slot, row.status.value)]
            parts += [(part, BUFFER) for part in turnaround(row.slot, row.buffers)]
            found += [(slot, label) for slot, label in parts if slot.overlaps(window)]
        return sorted(found, key=lambda item: item[0].start)

    def guards(self, window: Slot, now: datetime) -> list[Slot]:
        """The guarded ranges of the bookings holding their slot in `window` at `now`."""
        return [g for b, g in self.timeline.busy(window) if self._occupies(b, now)]

    def availability(self, window: Slot, rules: SpaceRules, now: datetime) -> Availability:
        """Busy slots (held at `now`, with their turnaround) and where a new booking, with the
        space's buffers of its own, fits in `window`'s open hours from now on."""
        days = {
            window.start.astimezone(rules.tz).date() + timedelta(days=i)
            for i in range((window.end - window.start).days + 2)
        }
        opened = [
            iv
            for day in sorted(days)
            for iv in open_intervals(day, rules.tz, rules.hours, rules.closures)
        ]
        wide = _widened(window, rules.buffers)
        blocked = [blocked_for_new(g, rules.buffers) for g in self.guards(wide, now)]
        free = free_intervals(window, blocked, opened)
        return Availability(self.busy(window, now), [f for f in free if f.end > now])


def _widened(window: Slot, buffers: Buffers) -> Slot:
    """Guards that reach into `window` once a new booking's own buffers are added: one ending
    up to `before` ahead of the window, or starting up to `after` past it."""
    return Slot(window.start - buffers.before, window.end + buffers.after)
