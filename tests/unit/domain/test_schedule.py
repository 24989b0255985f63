from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cowork.domain.errors import (
    DomainError,
    InvalidClosureError,
    InvalidLimitsError,
    InvalidScheduleError,
    LocationClosedError,
    OutsideOpeningHoursError,
    SlotGranularityError,
    SlotInPastError,
    SlotTooFarAheadError,
    SlotTooLongError,
    SlotTooShortError,
)
from cowork.domain.schedule import (
    BookingLimits,
    Closure,
    OpenInterval,
    WeeklyHours,
    local_days,
    open_intervals,
    parse_hhmm,
    validate_slot,
)
from cowork.domain.slots import Slot

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SPRING = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
FALL = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET
OFFICE = WeeklyHours.from_dict({k: [["09:00", "18:00"]] for k in ("mon", "tue", "wed", "sun")})
LIMITS = BookingLimits(max_days_ahead=365)


def rome(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ROME)


def local_slot(day: date, h1: int, m1: int, h2: int, m2: int, end_day: date | None = None) -> Slot:
    return Slot(rome(day, h1, m1), rome(end_day or day, h2, m2))


def check(
    slot: Slot,
    *,
    hours: WeeklyHours = OFFICE,
    closures: tuple[Closure, ...] = (),
    limits: BookingLimits = LIMITS,
    now: datetime = NOW,
) -> None:
    validate_slot(slot, now=now, tz=ROME, hours=hours, closures=closures, limits=limits)


# --- weekly hours ---------------------------------------------------------------


def test_from_dict_round_trip() -> None:
    data = {"mon": [["13:00", "24:00"], ["08:00", "12:00"]], "sat": [["00:00", "24:00"]]}
    hours = WeeklyHours.from_dict(data)
    assert hours.on(0) == (OpenInterval(480, 720), OpenInterval(780, 1440))
    assert hours.on(1) == ()
    out = hours.to_dict()
    assert out["mon"] == [["08:00", "12:00"], ["13:00", "24:00"]]
    assert out["tue"] == []
    assert list(out) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert WeeklyHours.from_dict(out) == hours


def test_touching_intervals_are_allowed() -> None:
    hours = WeeklyHours.from_dict({"fri": [["08:00", "12:00"], ["12:00", "18:00"]]})
    assert len(hours.on(4)) == 2


@pytest.mark.parametrize(
    "data",
    [
        {"mon": [["18:00", "09:00"]]},
        {"mon": [["09:00", "09:00"]]},
        {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]},
        {"mon": [["24:00", "24:00"]]},
        {"mon": [["09:00", "24:30"]]},
        {"mon": [["9:00", "18:00"]]},
        {"mon": [["09:60", "18:00"]]},
        {"mon": [["09:00"]]},
        {"mon": ["09:00-18:00"]},
        {"monday": [["09:00", "18:00"]]},
    ],
)
def test_invalid_hours_rejected(data: dict[str, list[list[str]]]) -> None:
    with pytest.raises(InvalidScheduleError) as info:
        WeeklyHours.from_dict(data)
    assert info.value.code == "invalid_opening_hours"


def test_invalid_weekday_number_rejected() -> None:
    with pytest.raises(InvalidScheduleError):
        WeeklyHours({7: (OpenInterval(0, 60),)})


def test_parse_hhmm() -> None:
    assert parse_hhmm("00:00") == 0
    assert parse_hhmm("23:59") == 1439
    assert parse_hhmm("24:00", allow_end_of_day=True) == 1440
    with pytest.raises(InvalidScheduleError):
        parse_hhmm("24:00")


# --- closures and limits --------------------------------------------------------


def test_closure_must_not_end_before_start() -> None:
    with pytest.raises(InvalidClosureError) as info:
        Closure(date(2026, 5, 2), date(2026, 5, 1), "typo")
    assert info.value.status == 422
    assert Closure(date(2026, 5, 1), date(2026, 5, 1), "may day").covers(date(2026, 5, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"granularity_minutes": 0},
        {"granularity_minutes": 7},
        {"min_minutes": 0},
        {"min_minutes": 60, "max_minutes": 30},
        {"max_days_ahead": -1},
        {"check_in_early_minutes": -1},
    ],
)
def test_invalid_limits(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidLimitsError):
        BookingLimits(**kwargs)


# --- local days and open intervals ----------------------------------------------


def test_local_days_excludes_day_ending_at_midnight() -> None:
    day = date(2026, 5, 4)
    assert local_days(local_slot(day, 22, 0, 0, 0, day + timedelta(days=1)), ROME) == [day]
    assert local_days(local_slot(day, 22, 0, 0, 15, day + timedelta(days=1)), ROME) == [
        day,
        day + timedelta(days=1),
    ]


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (FALL, 25), (date(2026, 5, 4), 24)])
def test_open_intervals_of_24h_location_follow_dst(day: date, hours: int) -> None:
    (interval,) = open_intervals(day, ROME, WeeklyHours.always_open(), ())
    assert interval.duration == timedelta(hours=hours)
    assert interval.start == rome(day, 0)
    assert interval.end == rome(day + timedelta(days=1), 0)


@pytest.mark.parametrize("day", [SPRING, FALL])
def test_open_intervals_office_hours_in_local_time(day: date) -> None:
    (interval,) = open_intervals(day, ROME, OFFICE, ())
    assert interval.start.astimezone(ROME).hour == 9
    assert interval.end.astimezone(ROME).hour == 18
    assert interval.duration == timedelta(hours=9)


def test_open_intervals_in_utc_shift_with_dst() -> None:
    (before,) = open_intervals(date(2026, 3, 22), ROME, OFFICE, ())
    (after,) = open_intervals(SPRING, ROME, OFFICE, ())
    assert before.start.hour == 8  # CET = UTC+1
    assert after.start.hour == 7  # CEST = UTC+2


def test_open_intervals_empty_when_closed() -> None:
    assert open_intervals(date(2026, 5, 9), ROME, OFFICE, ()) == []  # Saturday
    closure = Closure(date(2026, 5, 4), date(2026, 5, 5), "works")
    assert open_intervals(date(2026, 5, 4), ROME, OFFICE, (closure,)) == []
    assert open_intervals(date(2026, 5, 6), ROME, OFFICE, (closure,)) != []


# --- validate_slot: each error --------------------------------------------------

MONDAY = date(2026, 3, 9)


def test_valid_slot_passes() -> None:
    check(local_slot(MONDAY, 9, 0, 18, 0))


def test_slot_in_past() -> None:
    with pytest.raises(SlotInPastError) as info:
        check(local_slot(MONDAY, 9, 0, 10, 0), now=rome(MONDAY, 9, 1))
    assert info.value.code == "slot_in_past"
    check(local_slot(MONDAY, 9, 0, 10, 0), now=rome(MONDAY, 9, 0))


def test_slot_too_far_ahead() -> None:
    limits = BookingLimits(max_days_ahead=7)
    with pytest.raises(SlotTooFarAheadError) as info:
        check(
            local_slot(MONDAY, 9, 0, 10, 0),
            now=rome(MONDAY, 8, 59) - timedelta(days=7),
            limits=limits,
        )
    assert info.value.code == "slot_too_far_ahead"
    check(
        local_slot(MONDAY, 9, 0, 10, 0), now=rome(MONDAY, 9, 0) - timedelta(days=7), limits=limits
    )


@pytest.mark.parametrize(
    "slot",
    [
        local_slot(MONDAY, 9, 5, 10, 0),
        local_slot(MONDAY, 9, 0, 10, 10),
        Slot(rome(MONDAY, 9) + timedelta(seconds=1), rome(MONDAY, 10)),
        Slot(rome(MONDAY, 9), rome(MONDAY, 10) + timedelta(microseconds=1)),
    ],
)
def test_slot_granularity(slot: Slot) -> None:
    with pytest.raises(SlotGranularityError) as info:
        check(slot)
    assert info.value.code == "slot_granularity"


def test_granularity_uses_local_time() -> None:
    # Asia/Kolkata is UTC+5:30: 09:00 local is 03:30 UTC, on a 60-minute grid locally only.
    kolkata = ZoneInfo("Asia/Kolkata")
    slot = Slot(
        datetime(2026, 3, 9, 9, 0, tzinfo=kolkata), datetime(2026, 3, 9, 10, 0, tzinfo=kolkata)
    )
    validate_slot(
        slot,
        now=NOW,
        tz=kolkata,
        hours=OFFICE,
        closures=(),
        limits=BookingLimits(granularity_minutes=60, min_minutes=60),
    )
    with pytest.raises(SlotGranularityError):
        validate_slot(
            slot,
            now=NOW,
            tz=ROME,
            hours=WeeklyHours.always_open(),
            closures=(),
            limits=BookingLimits(granularity_minutes=60, min_minutes=60),
        )


def test_slot_too_short() -> None:
    with pytest.raises(SlotTooShortError) as info:
        check(local_slot(MONDAY, 9, 0, 9, 15), limits=BookingLimits(min_minutes=30))
    assert info.value.code == "slot_too_short"
    check(local_slot(MONDAY, 9, 0, 9, 30), limits=BookingLimits(min_minutes=30))


def test_slot_too_long() -> None:
    with pytest.raises(SlotTooLongError) as info:
        check(
            local_slot(MONDAY, 9, 0, 13, 15),
            limits=BookingLimits(max_minutes=240, max_days_ahead=365),
        )
    assert info.value.code == "slot_too_long"
    check(
        local_slot(MONDAY, 9, 0, 13, 0), limits=BookingLimits(max_minutes=240, max_days_ahead=365)
    )


def test_max_length_is_real_elapsed_time_over_spring_forward() -> None:
    # 00:00-05:00 wall clock on the spring-forward night is only 4 real hours.
    slot = local_slot(SPRING, 0, 0, 5, 0)
    check(
        slot,
        hours=WeeklyHours.always_open(),
        limits=BookingLimits(max_minutes=240, max_days_ahead=365),
    )
    with pytest.raises(SlotTooLongError):
        check(
            local_slot(FALL, 0, 0, 4, 0),
            hours=WeeklyHours.always_open(),
            limits=BookingLimits(max_minutes=240, max_days_ahead=365),
        )


def test_location_closed_on_a_covered_day() -> None:
    always = WeeklyHours.always_open()
    closure = Closure(date(2026, 3, 10), date(2026, 3, 10), "holiday")
    with pytest.raises(LocationClosedError) as info:
        check(local_slot(MONDAY, 20, 0, 8, 0, date(2026, 3, 11)), hours=always, closures=(closure,))
    assert info.value.code == "location_closed"
    assert info.value.extra["dates"] == ["2026-03-10"]
    # ending at the closure's midnight does not touch it
    check(local_slot(MONDAY, 20, 0, 0, 0, date(2026, 3, 10)), hours=always, closures=(closure,))


@pytest.mark.parametrize(
    "slot",
    [
        local_slot(MONDAY, 8, 45, 10, 0),
        local_slot(MONDAY, 17, 0, 18, 15),
        local_slot(date(2026, 3, 14), 10, 0, 11, 0),  # Saturday: closed
    ],
)
def test_outside_opening_hours(slot: Slot) -> None:
    with pytest.raises(OutsideOpeningHoursError) as info:
        check(slot)
    assert info.value.code == "outside_opening_hours"


def test_single_day_slot_must_fit_one_interval() -> None:
    split = WeeklyHours.from_dict({"mon": [["08:00", "12:00"], ["13:00", "18:00"]]})
    check(local_slot(MONDAY, 8, 0, 12, 0), hours=split)
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(MONDAY, 11, 0, 14, 0), hours=split)


def test_multi_day_slot_starts_and_ends_in_opening_hours() -> None:
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    check(local_slot(MONDAY, 17, 0, 18, 0, wednesday))
    check(local_slot(MONDAY, 9, 0, 10, 0, tuesday))
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(MONDAY, 17, 0, 19, 0, tuesday))
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(MONDAY, 18, 0, 10, 0, tuesday))  # starts at closing time
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(MONDAY, 17, 0, 9, 0, tuesday))  # ends at opening time


def test_slot_ending_at_midnight_of_24h_day() -> None:
    hours = WeeklyHours.from_dict({"mon": [["20:00", "24:00"]]})
    check(local_slot(MONDAY, 20, 0, 0, 0, MONDAY + timedelta(days=1)), hours=hours)


@pytest.mark.parametrize("day", [SPRING, FALL])
def test_office_hours_honoured_in_local_time_on_dst_days(day: date) -> None:
    check(local_slot(day, 9, 0, 18, 0))
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(day, 8, 0, 9, 0))
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(day, 18, 0, 19, 0))
    # the UTC hour that is 09:00 local on the previous Sunday is 10:00 local on the spring day
    # and 08:00 local on the fall day
    shifted = Slot(rome(day, 9) + timedelta(hours=1 if day == SPRING else -1), rome(day, 18))
    if day == FALL:
        with pytest.raises(OutsideOpeningHoursError):
            check(shifted)
    else:
        check(shifted)


@pytest.mark.parametrize(("day", "real_hours"), [(SPRING, 6), (FALL, 8)])
def test_slot_across_dst_night(day: date, real_hours: int) -> None:
    saturday = day - timedelta(days=1)
    hours = WeeklyHours.from_dict({"sat": [["20:00", "24:00"]], "sun": [["00:00", "06:00"]]})
    slot = local_slot(saturday, 22, 0, 5, 0, day)
    assert slot.duration == timedelta(hours=real_hours)
    check(slot, hours=hours)
    with pytest.raises(SlotTooLongError):
        check(
            slot,
            hours=hours,
            limits=BookingLimits(max_minutes=60 * real_hours - 15, max_days_ahead=365),
        )
    with pytest.raises(OutsideOpeningHoursError):
        check(local_slot(saturday, 22, 0, 6, 15, day), hours=hours)


def test_slot_inside_the_repeated_hour() -> None:
    slot = Slot(rome(FALL, 2, 0), datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME))
    assert slot.duration == timedelta(minutes=90)
    check(slot, hours=WeeklyHours.always_open())


def test_errors_are_domain_errors_with_status_422() -> None:
    with pytest.raises(DomainError) as info:
        check(local_slot(MONDAY, 9, 5, 10, 0))
    assert info.value.status == 422
