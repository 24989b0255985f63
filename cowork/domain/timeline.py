"""One space's live bookings in start order, and the free time left around them."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Sequence
from datetime import datetime

from cowork.domain.errors import SlotTakenError
from cowork.domain.slots import Slot, to_utc


def _start(entry: tuple[Slot, int]) -> datetime:
    return entry[0].start


def _end(entry: tuple[Slot, int]) -> datetime:
    return entry[0].end


class Timeline:
    """Non-overlapping slots keyed by booking id, kept sorted by start.

    Because live bookings never overlap, sorting by start also sorts by end; conflict and
    range lookups use that to run in O(log n + k).
    """

    def __init__(self) -> None:
        self._entries: list[tuple[Slot, int]] = []
        self._by_id: dict[int, Slot] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, booking_id: object) -> bool:
        return booking_id in self._by_id

    def __iter__(self) -> Iterator[tuple[int, Slot]]:
        return iter([(booking_id, slot) for slot, booking_id in self._entries])

    def get(self, booking_id: int) -> Slot | None:
        """The slot held by `booking_id`, or None."""
        return self._by_id.get(booking_id)

    def _overlapping(self, slot: Slot) -> list[tuple[Slot, int]]:
        # Entries before `hi` start before slot.end; walking back, ends decrease, so stop at
        # the first one that ends at or before slot.start.
        hi = bisect_left(self._entries, slot.end, key=_start)
        found: list[tuple[Slot, int]] = []
        i = hi - 1
        while i >= 0 and self._entries[i][0].end > slot.start:
            found.append(self._entries[i])
            i -= 1
        found.reverse()
        return found

    def conflicts(self, slot: Slot, ignore: int | None = None) -> list[int]:
        """Ids of bookings overlapping `slot` (half-open), in start order, except `ignore`."""
        return [bid for _, bid in self._overlapping(slot) if bid != ignore]

    def busy(self, window: Slot) -> list[tuple[int, Slot]]:
        """(id, slot) of every booking overlapping `window`, in start order."""
        return [(bid, s) for s, bid in self._overlapping(window)]

    def add(self, booking_id: int, slot: Slot) -> None:
        """Place or move `booking_id` to `slot`; raise SlotTakenError on overlap with another."""
        taken = self.conflicts(slot, ignore=booking_id)
        if taken:
            raise SlotTakenError("the slot overlaps another booking", conflicts=taken)
        self.remove(booking_id)
        insort(self._entries, (slot, booking_id), key=_start)
        self._by_id[booking_id] = slot

    def remove(self, booking_id: int) -> Slot | None:
        """Drop `booking_id` and return its slot; None when it was not there."""
        slot = self._by_id.pop(booking_id, None)
        if slot is not None:
            i = bisect_left(self._entries, slot.start, key=_start)
            # starts are unique among non-overlapping slots, so entry i is this booking
            del self._entries[i]
        return slot

    def prune(self, before: datetime) -> list[int]:
        """Drop slots that ended at or before `before`; return their ids."""
        cut = bisect_right(self._entries, to_utc(before, "before"), key=_end)
        dropped = [bid for _, bid in self._entries[:cut]]
        del self._entries[:cut]
        for bid in dropped:
            del self._by_id[bid]
        return dropped


def _merge(slots: Sequence[Slot]) -> list[Slot]:
    merged: list[Slot] = []
    for s in sorted(slots, key=lambda s: s.start):
        if merged and s.start <= merged[-1].end:
            if s.end > merged[-1].end:
                merged[-1] = Slot(merged[-1].start, s.end)
        else:
            merged.append(s)
    return merged


def free_intervals(
    window: Slot, busy: Sequence[Slot], open_intervals: Sequence[Slot]
) -> list[Slot]:
    """The parts of `window` that are inside an open interval and outside every busy slot."""
    open_parts = [
        Slot(max(o.start, window.start), min(o.end, window.end))
        for o in open_intervals
        if o.overlaps(window)
    ]
    blocked = _merge([b for b in busy if b.overlaps(window)])
    free: list[Slot] = []
    for part in _merge(open_parts):
        cursor = part.start
        for b in blocked:
            if b.end <= cursor or b.start >= part.end:
                continue
            if b.start > cursor:
                free.append(Slot(cursor, b.start))
            cursor = max(cursor, b.end)
            if cursor >= part.end:
                break
        if cursor < part.end:
            free.append(Slot(cursor, part.end))
    return free
