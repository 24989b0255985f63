"""Reporting periods and open time in a location's local calendar; ratios that never divide by 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cowork.domain.errors import InvalidInputError
from cowork.domain.problems import Problem
from cowork.domain.schedule import Closure, WeeklyHours, open_intervals
from cowork.domain.slots import Slot, to_utc

MAX_PERIOD_DAYS = 366


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates `first`..`last`, both inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInputError(
                "`to` must be on or after `from`",
                problem=Problem.INVALID_WINDOW,
                first=str(self.first),
            )
        if self.days > MAX_PERIOD_DAYS:
            raise InvalidInputError(
                f"a period spans at most {MAX_PERIOD_DAYS} days",
                problem=Problem.INVALID_WINDOW,
                days=self.days,
            )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        """Every local date of the period, in order."""
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def bounds(self, tz: ZoneInfo) -> Slot:
        """[first 00:00, last + 1 day 00:00) in local time, as UTC instants (DST-correct)."""
        return Slot(local_midnight(self.first, tz), local_midnight(self.last + timedelta(1), tz))


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local date `day` begins."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def local_day(now: datetime, tz: ZoneInfo) -> Slot:
    """Today in local time, as UTC instants; 23 or 25 hours long on a DST change."""
    today = to_utc(now, "now").astimezone(tz).date()
    return Period(today, today).bounds(tz)


def local_month(now: datetime, tz: ZoneInfo) -> Slot:
    """This local calendar month, as UTC instants."""
    today = to_utc(now, "now").astimezone(tz).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Slot(local_midnight(first, tz), local_midnight(following, tz))


def open_time(
    period: Period, tz: ZoneInfo, hours: WeeklyHours, closures: Sequence[Closure]
) -> list[Slot]:
    """Every open interval of the period's local dates (closed days contribute none)."""
    return [slot for day in period.dates() for slot in open_intervals(day, tz, hours, closures)]


def seconds(slots: Sequence[Slot]) -> float:
    """Total real (elapsed) time of disjoint slots, in seconds."""
    return sum(s.duration.total_seconds() for s in slots)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, rounded to 4 places; None when there is nothing to divide by."""
    if whole <= 0:
        return None
    return round(part / whole, 4)
