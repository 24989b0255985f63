"""Per-member limits of a location: hours per week, concurrent holds, bookings ahead.

The usage is counted in the write's own transaction, under a lock per member and location
(`cowork.store.quotas`), so two requests racing on different spaces cannot both slip under a
limit. A limit of None is no limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cowork.domain.errors import InvalidLimitsError
from cowork.domain.problems import DomainError, Problem
from cowork.domain.slots import Slot, to_utc


class Limit(StrEnum):
    HOURS_PER_WEEK = "max_hours_per_week"
    CONCURRENT_HOLDS = "max_concurrent_holds"
    BOOKINGS_AHEAD = "max_bookings_ahead"


class QuotaExceededError(DomainError):
    problem = Problem.QUOTA_EXCEEDED


@dataclass(frozen=True, slots=True)
class Quotas:
    max_hours_per_week: int | None = None
    max_concurrent_holds: int | None = None
    max_bookings_ahead: int | None = None

    def __post_init__(self) -> None:
        for limit in Limit:
            value = getattr(self, limit.value)
            if value is not None and value < 1:
                raise InvalidLimitsError(f"{limit.value} must be at least 1 (or null)")

    @property
    def any(self) -> bool:
        return any(getattr(self, limit.value) is not None for limit in Limit)


@dataclass(frozen=True, slots=True)
class Usage:
    """What the member already has at the location (the booking being judged excluded)."""

    week_seconds: int  # booked in the local week of the wanted slot's start
    holds: int  # held (not lapsed) or pending approval, now
    ahead: int  # live bookings that have not started yet


def local_week(instant: datetime, tz: ZoneInfo) -> Slot:
    """The local Monday-to-Monday week containing `instant` (DST-correct UTC bounds)."""
    day = to_utc(instant, "instant").astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz)
    return Slot(start, end)


def check(quotas: Quotas, usage: Usage, wanted: Slot, *, is_hold: bool, ahead: bool) -> None:
    """Raise QuotaExceededError naming the first limit that `wanted` would break.

    `is_hold`: the new booking waits for payment or approval; `ahead`: it starts later.
    """
    hours = quotas.max_hours_per_week
    wanted_seconds = int(wanted.duration.total_seconds())
    if hours is not None and usage.week_seconds + wanted_seconds > hours * 3600:
        _refuse(Limit.HOURS_PER_WEEK, hours, usage.week_seconds / 3600)
    counted = (
        (Limit.CONCURRENT_HOLDS, quotas.max_concurrent_holds, usage.holds, is_hold),
        (Limit.BOOKINGS_AHEAD, quotas.max_bookings_ahead, usage.ahead, ahead),
    )
    for limit, allowed, used, applies in counted:
        if applies and allowed is not None and used + 1 > allowed:
            _refuse(limit, allowed, used)


def _refuse(limit: Limit, allowed: int, used: float) -> None:
    raise QuotaExceededError(
        f"this would exceed the location's {limit.value} ({allowed})",
        limit=limit.value,
        allowed=allowed,
        used=round(used, 2),
    )
