"""Opening hours, closures and booking limits, all judged in the location's local time."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo

from cowork.domain.errors import (
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
from cowork.domain.quotas import Quotas
from cowork.domain.slots import Slot, to_utc

MINUTES_PER_DAY = 24 * 60
WEEKDAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


def parse_hhmm(text: str, *, allow_end_of_day: bool = False) -> int:
    """Parse "HH:MM" into minutes from local midnight; "24:00" only when `allow_end_of_day`."""
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidScheduleError(f"time {text!r} is not HH:MM", value=str(text))
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if (
        minutes >= 60
        or total > MINUTES_PER_DAY
        or (total == MINUTES_PER_DAY and not allow_end_of_day)
    ):
        raise InvalidScheduleError(f"time {text!r} is out of range", value=text)
    return total


def format_hhmm(minute: int) -> str:
    """Format minutes from local midnight as "HH:MM" (1440 becomes "24:00")."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True, order=True)
class OpenInterval:
    """Minutes from local midnight; 0 <= open < close <= 1440 (1440 is the end of the day)."""

    open_minute: int
    close_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.open_minute < self.close_minute <= MINUTES_PER_DAY:
            raise InvalidScheduleError(
                "opening must be before closing, within one day",
                open=self.open_minute,
                close=self.close_minute,
            )


@dataclass(frozen=True)
class WeeklyHours:
    """Weekday (0 = Monday .. 6 = Sunday) to sorted, non-overlapping open intervals.

    A weekday that is missing or maps to no interval is closed.
    """

    days: Mapping[int, tuple[OpenInterval, ...]]

    def __post_init__(self) -> None:
        normalised: dict[int, tuple[OpenInterval, ...]] = {}
        for weekday, intervals in self.days.items():
            if weekday not in range(7):
                raise InvalidScheduleError(f"weekday {weekday} is not 0..6", weekday=weekday)
            ordered = tuple(sorted(intervals))
            for before, after in pairwise(ordered):
                if after.open_minute < before.close_minute:
                    raise InvalidScheduleError(
                        f"opening intervals overlap on {WEEKDAY_KEYS[weekday]}",
                        weekday=weekday,
                    )
            if ordered:
                normalised[weekday] = ordered
        object.__setattr__(self, "days", MappingProxyType(dict(sorted(normalised.items()))))

    def on(self, weekday: int) -> tuple[OpenInterval, ...]:
        """The open intervals of `weekday`; empty when closed."""
        return self.days.get(weekday, ())

    @classmethod
    def always_open(cls) -> WeeklyHours:
        """Open 00:00-24:00 every day."""
        return cls({d: (OpenInterval(0, MINUTES_PER_DAY),) for d in range(7)})

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[Sequence[str]]]) -> WeeklyHours:
        """Build from {"mon": [["08:00", "20:00"]], ...}; "24:00" is allowed as a closing time."""
        days: dict[int, tuple[OpenInterval, ...]] = {}
        for key, pairs in data.items():
            if key not in WEEKDAY_KEYS:
                raise InvalidScheduleError(f"unknown weekday {key!r}", weekday=str(key))
            intervals: list[OpenInterval] = []
            for pair in pairs:
                if isinstance(pair, str) or len(pair) != 2:
                    raise InvalidScheduleError(
                        f"{key}: each interval is [open, close]", weekday=key
                    )
                intervals.append(
                    OpenInterval(parse_hhmm(pair[0]), parse_hhmm(pair[1], allow_end_of_day=True))
                )
            days[WEEKDAY_KEYS.index(key)] = tuple(intervals)
        return cls(days)

    def to_dict(self) -> dict[str, list[list[str]]]:
        """All seven weekdays as "HH:MM" pairs; a closed day maps to an empty list."""
        return {
            key: [
                [format_hhmm(i.open_minute), format_hhmm(i.close_minute)] for i in self.on(weekday)
            ]
            for weekday, key in enumerate(WEEKDAY_KEYS)
        }


@dataclass(frozen=True, slots=True)
class Closure:
    """Whole local days, inclusive, on which the location is closed."""

    start_date: date
    end_date: date
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise InvalidClosureError(
                "closure must end on or after its start date",
                start_date=self.start_date.isoformat(),
                end_date=self.end_date.isoformat(),
            )

    def covers(self, day: date) -> bool:
        """True when `day` falls within the closure."""
        return self.start_date <= day <= self.end_date


@dataclass(frozen=True, slots=True)
class BookingLimits:
    granularity_minutes: int = 15
    min_minutes: int = 15
    max_minutes: int = 7 * 24 * 60
    max_days_ahead: int = 180
    check_in_early_minutes: int = 15
    # A member's own check-in must carry the code the location's kiosk shows.
    check_in_needs_presence: bool = False
    # Managers decide a request within this long (and before it starts); then it declines.
    approval_hours: int = 24
    # How long a waitlist offer holds the freed slot for its member.
    waitlist_offer_minutes: int = 10
    # Per-member limits (None: no limit): see domain.quotas.
    max_hours_per_week: int | None = None
    max_concurrent_holds: int | None = None
    max_bookings_ahead: int | None = None

    def __post_init__(self) -> None:
        g = self.granularity_minutes
        if g < 1 or MINUTES_PER_DAY % g != 0:
            raise InvalidLimitsError("granularity must divide a day", granularity_minutes=g)
        if self.min_minutes < 1 or self.max_minutes < self.min_minutes:
            raise InvalidLimitsError("need 1 <= min_minutes <= max_minutes")
        if self.max_days_ahead < 0 or self.check_in_early_minutes < 0:
            raise InvalidLimitsError("max_days_ahead and check_in_early_minutes must be >= 0")
        if self.approval_hours < 1 or self.waitlist_offer_minutes < 1:
            raise InvalidLimitsError("approval_hours and waitlist_offer_minutes must be >= 1")
        Quotas(self.max_hours_per_week, self.max_concurrent_holds, self.max_bookings_ahead)

    @property
    def quotas(self) -> Quotas:
        """The per-member limits (checked in __post_init__)."""
        return Quotas(self.max_hours_per_week, self.max_concurrent_holds, self.max_bookings_ahead)


def _local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    # Aware arithmetic with a shared tzinfo is wall-clock arithmetic, which is what we want
    # here: minute 1440 lands on the next local midnight. Wall times inside a spring-forward
    # gap resolve with fold=0 (the offset before the change).
    local = datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def local_days(slot: Slot, tz: ZoneInfo) -> list[date]:
    """Every local date the half-open slot covers (a slot ending at midnight excludes that day)."""
    first = slot.start.astimezone(tz).date()
    last = (slot.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def is_closed(day: date, closures: Sequence[Closure]) -> bool:
    """True when any closure covers the local date."""
    return any(c.covers(day) for c in closures)


def open_intervals(
    day: date, tz: ZoneInfo, hours: WeeklyHours, closures: Sequence[Closure]
) -> list[Slot]:
    """The UTC intervals when the location is open on local date `day`; empty when closed."""
    if is_closed(day, closures):
        return []
    result: list[Slot] = []
    for interval in hours.on(day.weekday()):
        start = _local_instant(day, interval.open_minute, tz)
        end = _local_instant(day, interval.close_minute, tz)
        if start < end:  # an interval wholly inside a DST gap vanishes
            result.append(Slot(start, end))
    return result


def _on_grid(instant: datetime, tz: ZoneInfo, granularity: int) -> bool:
    local = instant.astimezone(tz)
    minute = local.hour * 60 + local.minute
    return local.second == 0 and local.microsecond == 0 and minute % granularity == 0


def _check_opening_hours(
    slot: Slot, tz: ZoneInfo, hours: WeeklyHours, closures: Sequence[Closure]
) -> None:
    days = local_days(slot, tz)
    if len(days) == 1:
        if not any(o.covers(slot) for o in open_intervals(days[0], tz, hours, closures)):
            raise OutsideOpeningHoursError("the slot must fit inside one opening interval")
        return
    starts_open = any(
        o.start <= slot.start < o.end for o in open_intervals(days[0], tz, hours, closures)
    )
    ends_open = any(
        o.start < slot.end <= o.end for o in open_intervals(days[-1], tz, hours, closures)
    )
    if not (starts_open and ends_open):
        raise OutsideOpeningHoursError("a multi-day slot must start and end inside opening hours")


def validate_slot(
    slot: Slot,
    *,
    now: datetime,
    tz: ZoneInfo,
    hours: WeeklyHours,
    closures: Sequence[Closure],
    limits: BookingLimits,
) -> None:
    """Raise the specific error when the slot breaks a booking rule of the location."""
    now_utc = to_utc(now, "now")
    if slot.start < now_utc:
        raise SlotInPastError("the slot starts in the past", start=slot.start.isoformat())
    if slot.start - now_utc > timedelta(days=limits.max_days_ahead):
        raise SlotTooFarAheadError(
            f"bookings open at most {limits.max_days_ahead} days ahead",
            max_days_ahead=limits.max_days_ahead,
        )
    g = limits.granularity_minutes
    if not (_on_grid(slot.start, tz, g) and _on_grid(slot.end, tz, g)):
        raise SlotGranularityError(
            f"start and end must be on a {g}-minute boundary in local time",
            granularity_minutes=g,
        )
    if slot.duration < timedelta(minutes=limits.min_minutes):
        raise SlotTooShortError(
            f"the slot must last at least {limits.min_minutes} minutes",
            min_minutes=limits.min_minutes,
        )
    if slot.duration > timedelta(minutes=limits.max_minutes):
        raise SlotTooLongError(
            f"the slot must last at most {limits.max_minutes} minutes",
            max_minutes=limits.max_minutes,
        )
    closed = [d for d in local_days(slot, tz) if is_closed(d, closures)]
    if closed:
        raise LocationClosedError(
            f"the location is closed on {closed[0].isoformat()}",
            dates=[d.isoformat() for d in closed],
        )
    _check_opening_hours(slot, tz, hours, closures)
