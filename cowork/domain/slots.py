"""A booked span of time: half-open [start, end), always aware and normalised to UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cowork.domain.errors import InstantOutOfRangeError, NaiveDatetimeError, SlotOrderError

# Every instant the platform accepts or stores lies in [EARLIEST, LATEST): far from the
# calendar's ends, so no local-time or date arithmetic on it can overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def ensure_aware(dt: datetime, field: str) -> datetime:
    """Return `dt` unchanged if it carries a UTC offset; raise NaiveDatetimeError otherwise."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise NaiveDatetimeError(f"{field} must include a UTC offset", field=field)
    return dt


def to_utc(dt: datetime, field: str = "datetime") -> datetime:
    """Return the aware `dt` as a UTC datetime; naive input raises NaiveDatetimeError, one
    outside [2000, 2100) InstantOutOfRangeError."""
    ensure_aware(dt, field)
    if not EARLIEST.year - 1 <= dt.year <= LATEST.year:  # before converting: it may overflow
        raise InstantOutOfRangeError(f"{field} must fall in 2000-2099", field=field)
    utc = dt.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        raise InstantOutOfRangeError(f"{field} must fall in 2000-2099", field=field)
    return utc


@dataclass(frozen=True, slots=True)
class Slot:
    """Half-open interval [start, end); both ends are stored in UTC.

    Normalising to UTC matters: Python compares and subtracts two datetimes that share a
    tzinfo by wall clock, which is wrong across a DST change.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = to_utc(self.start, "start")
        end = to_utc(self.end, "end")
        if end <= start:
            raise SlotOrderError(
                "end must be after start", start=start.isoformat(), end=end.isoformat()
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        """Real elapsed time between start and end."""
        return self.end - self.start

    def overlaps(self, other: Slot) -> bool:
        """Half-open overlap: slots that merely touch do not overlap."""
        return self.start < other.end and other.start < self.end

    def contains(self, instant: datetime) -> bool:
        """True when start <= instant < end."""
        return self.start <= to_utc(instant, "instant") < self.end

    def covers(self, other: Slot) -> bool:
        """True when `other` lies entirely inside this slot."""
        return self.start <= other.start and other.end <= self.end
