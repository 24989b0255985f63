from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cowork.domain.errors import InvalidTimezoneError, NaiveDatetimeError, SlotOrderError
from cowork.domain.slots import Slot, ensure_aware, to_utc
from cowork.domain.timezones import load_zone

ROME = ZoneInfo("Europe/Rome")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_ensure_aware_returns_aware_value() -> None:
    assert ensure_aware(T0, "start") is T0


def test_ensure_aware_rejects_naive() -> None:
    with pytest.raises(NaiveDatetimeError) as info:
        ensure_aware(datetime(2026, 5, 4, 9, 0), "starts_at")
    assert info.value.code == "naive_datetime"
    assert info.value.status == 422
    assert info.value.extra == {"field": "starts_at"}


def test_slot_rejects_naive_start_and_end() -> None:
    with pytest.raises(NaiveDatetimeError):
        Slot(datetime(2026, 5, 4, 9, 0), T0 + timedelta(hours=1))
    with pytest.raises(NaiveDatetimeError):
        Slot(T0, datetime(2026, 5, 4, 10, 0))


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(minutes=-15)])
def test_slot_requires_end_after_start(delta: timedelta) -> None:
    with pytest.raises(SlotOrderError) as info:
        Slot(T0, T0 + delta)
    assert info.value.code == "slot_order"


def test_slot_is_normalised_to_utc() -> None:
    slot = Slot(datetime(2026, 5, 4, 11, 0, tzinfo=ROME), datetime(2026, 5, 4, 12, 0, tzinfo=ROME))
    assert slot.start == T0
    assert slot.start.tzinfo is UTC
    assert slot == Slot(T0, T0 + timedelta(hours=1))


def test_duration_is_real_elapsed_time_across_dst() -> None:
    # Same tzinfo datetimes subtract by wall clock in Python; Slot must not.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=ROME)
    end = datetime(2026, 3, 29, 6, 0, tzinfo=ROME)
    assert end - start == timedelta(hours=6)
    assert Slot(start, end).duration == timedelta(hours=5)


def test_overlap_is_half_open() -> None:
    a = Slot(T0, T0 + timedelta(hours=1))
    touching = Slot(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    inside = Slot(T0 + timedelta(minutes=15), T0 + timedelta(minutes=30))
    assert not a.overlaps(touching)
    assert not touching.overlaps(a)
    assert a.overlaps(inside)
    assert inside.overlaps(a)
    assert a.covers(inside)
    assert not inside.covers(a)
    assert a.contains(T0)
    assert not a.contains(T0 + timedelta(hours=1))


def test_overlap_during_repeated_fall_back_hour() -> None:
    # 02:30 CEST and 02:30 CET on 2026-10-25 are an hour apart.
    first = datetime(2026, 10, 25, 2, 0, tzinfo=ROME)  # fold=0: CEST
    second = datetime(2026, 10, 25, 2, 0, fold=1, tzinfo=ROME)  # CET
    a = Slot(first, datetime(2026, 10, 25, 2, 30, tzinfo=ROME))
    b = Slot(second, datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME))
    assert not a.overlaps(b)
    assert b.start - a.start == timedelta(hours=1)


def test_to_utc() -> None:
    assert to_utc(datetime(2026, 5, 4, 11, 0, tzinfo=ROME)) == T0
    with pytest.raises(NaiveDatetimeError):
        to_utc(datetime(2026, 5, 4, 11, 0))


def test_load_zone() -> None:
    assert load_zone("Europe/Rome") == ROME


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../etc/passwd", " Europe/Rome", "/tmp"])
def test_load_zone_rejects_unknown(name: str) -> None:
    with pytest.raises(InvalidTimezoneError) as info:
        load_zone(name)
    assert info.value.code == "invalid_timezone"
