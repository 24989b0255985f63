"""Buffers: the guarded range and where a new booking cannot lie.

Faults caught: a booking's turnaround not kept free, a new booking allowed to end inside
the next booking's set-up, buffers counted once instead of on both sides.
"""

from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.buffers import Buffers, blocked_for_new, guarded, turnaround
from cowork.domain.slots import Slot

NINE = datetime(2030, 1, 7, 9, tzinfo=UTC)
TEN = NINE + timedelta(hours=1)


def at(minutes: int) -> datetime:
    return NINE + timedelta(minutes=minutes)


def test_the_guarded_range_widens_the_slot_by_both_buffers():
    assert guarded(Slot(NINE, TEN), Buffers(10, 15)) == Slot(at(-10), at(75))
    assert guarded(Slot(NINE, TEN), Buffers()) == Slot(NINE, TEN)


def test_turnaround_is_the_buffers_alone():
    assert turnaround(Slot(NINE, TEN), Buffers(0, 15)) == [Slot(TEN, at(75))]
    assert turnaround(Slot(NINE, TEN), Buffers(5, 0)) == [Slot(at(-5), NINE)]
    assert turnaround(Slot(NINE, TEN), Buffers()) == []


def test_a_new_booking_keeps_its_own_buffers_clear_of_another_guard():
    guard = guarded(Slot(NINE, TEN), Buffers(0, 15))  # 09:00-10:15
    blocked = blocked_for_new(guard, Buffers(10, 15))
    # ending by 08:45 (its 15 after ends at 09:00), starting at 10:25 (its 10 before at 10:15)
    assert blocked == Slot(at(-15), at(85))


@pytest.mark.parametrize("minutes", [-1, 24 * 60 + 1])
def test_buffers_are_bounded(minutes):
    with pytest.raises(Exception) as info:
        Buffers(minutes, 0)
    assert info.value.status == 422
