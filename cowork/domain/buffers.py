"""Turnaround around a booking (cleaning, set-up): the range it guards is its slot widened.

The exclusion constraint guards `booking_guard(starts, ends, before, after)` (migration 8);
`guarded` is its Python twin (a test keeps the two equal). Two bookings of a space never
overlap their guarded ranges, so the gap between them is at least the first one's buffer
after plus the second one's buffer before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cowork.domain.errors import InvalidInputError
from cowork.domain.slots import Slot

MAX_BUFFER_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Buffers:
    before_minutes: int = 0
    after_minutes: int = 0

    def __post_init__(self) -> None:
        for name in ("before_minutes", "after_minutes"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_BUFFER_MINUTES:
                raise InvalidInputError(
                    f"buffer_{name} must be 0..{MAX_BUFFER_MINUTES}", field=f"buffer_{name}"
                )

    @property
    def before(self) -> timedelta:
        return timedelta(minutes=self.before_minutes)

    @property
    def after(self) -> timedelta:
        return timedelta(minutes=self.after_minutes)

    @property
    def none(self) -> bool:
        return self.before_minutes == 0 and self.after_minutes == 0


NO_BUFFERS = Buffers()


def guarded(slot: Slot, buffers: Buffers) -> Slot:
    """The range a booking of `slot` keeps from every other booking of its space."""
    return Slot(slot.start - buffers.before, slot.end + buffers.after)


def turnaround(slot: Slot, buffers: Buffers) -> list[Slot]:
    """The buffer parts alone: before the slot, then after it (empty parts left out)."""
    parts = []
    if buffers.before_minutes:
        parts.append(Slot(slot.start - buffers.before, slot.start))
    if buffers.after_minutes:
        parts.append(Slot(slot.end, slot.end + buffers.after))
    return parts


def blocked_for_new(guard: Slot, buffers: Buffers) -> Slot:
    """Where a new booking with `buffers` cannot lie because of an existing `guard`: its own
    buffer after must end by the guard's start, its buffer before begin at the guard's end."""
    return Slot(guard.start - buffers.after, guard.end + buffers.before)
