"""Reporting periods in local time: DST days, month edges, closures, safe ratios."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cowork.domain.errors import InvalidInputError
from cowork.domain.occupancy import Period, local_day, local_month, open_time, ratio, seconds
from cowork.domain.schedule import Closure, WeeklyHours

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def test_period_bounds_are_local_midnights_in_utc():
    bounds = Period(date(2026, 3, 27), date(2026, 3, 30)).bounds(ROME)
    assert bounds.start == datetime(2026, 3, 26, 23, tzinfo=UTC)  # CET
    assert bounds.end == datetime(2026, 3, 30, 22, tzinfo=UTC)  # CEST
    assert bounds.duration.total_seconds() == (4 * 24 - 1) * 3600


def test_local_day_of_a_dst_change_lasts_23_or_25_hours():
    spring = local_day(datetime(2026, 3, 29, 12, tzinfo=UTC), ROME)
    autumn = local_day(datetime(2026, 11, 1, 12, tzinfo=UTC), NEW_YORK)
    assert spring.duration.total_seconds() == 23 * 3600
    assert autumn.duration.total_seconds() == 25 * 3600


def test_local_month_starts_at_local_midnight():
    # 28 Feb 23:30 UTC is already 1 March in Rome.
    month = local_month(datetime(2026, 2, 28, 23, 30, tzinfo=UTC), ROME)
    assert month.start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert month.end == datetime(2026, 3, 31, 22, tzinfo=UTC)


def test_open_time_skips_closed_days_and_follows_dst():
    period = Period(date(2026, 3, 27), date(2026, 3, 30))
    closures = [Closure(date(2026, 3, 28), date(2026, 3, 28))]
    slots = open_time(period, ROME, WeeklyHours.always_open(), closures)
    assert seconds(slots) == (24 + 23 + 24) * 3600


def test_ratio_and_period_limits():
    assert ratio(1, 3) == 0.3333
    assert ratio(5, 0) is None
    with pytest.raises(InvalidInputError):
        Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(InvalidInputError):
        Period(date(2025, 1, 1), date(2026, 3, 1))
