"""Per-member limits: the one that breaks is named, the local week is Monday to Monday.

Faults caught: a limit off by one (the new booking not counted), a week cut in UTC instead
of the location's time, a refusal that does not say which limit.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cowork.domain.quotas import QuotaExceededError, Quotas, Usage, check, local_week
from cowork.domain.slots import Slot

ROME = ZoneInfo("Europe/Rome")
START = datetime(2030, 1, 8, 9, tzinfo=UTC)
TWO_HOURS = Slot(START, START + timedelta(hours=2))


def usage(week_hours: float = 0, holds: int = 0, ahead: int = 0) -> Usage:
    return Usage(week_seconds=int(week_hours * 3600), holds=holds, ahead=ahead)


def test_no_quota_allows_anything():
    check(Quotas(), usage(500, 99, 99), TWO_HOURS, is_hold=True, ahead=True)


def test_hours_per_week_counts_the_new_booking():
    quotas = Quotas(max_hours_per_week=10)
    check(quotas, usage(8), TWO_HOURS, is_hold=False, ahead=True)
    with pytest.raises(QuotaExceededError) as info:
        check(quotas, usage(8.25), TWO_HOURS, is_hold=False, ahead=True)
    assert info.value.status == 409
    assert info.value.code == "quota_exceeded"
    assert info.value.extra == {"limit": "max_hours_per_week", "allowed": 10, "used": 8.25}


@pytest.mark.parametrize(
    ("quotas", "used", "limit"),
    [
        (Quotas(max_concurrent_holds=2), usage(holds=2), "max_concurrent_holds"),
        (Quotas(max_bookings_ahead=3), usage(ahead=3), "max_bookings_ahead"),
    ],
)
def test_counted_limits_name_themselves(quotas, used, limit):
    with pytest.raises(QuotaExceededError) as info:
        check(quotas, used, TWO_HOURS, is_hold=True, ahead=True)
    assert info.value.extra["limit"] == limit


def test_holds_limit_ignores_a_booking_that_is_no_hold():
    check(Quotas(max_concurrent_holds=1), usage(holds=5), TWO_HOURS, is_hold=False, ahead=True)
    check(Quotas(max_bookings_ahead=1), usage(ahead=5), TWO_HOURS, is_hold=True, ahead=False)


def test_a_limit_below_one_is_refused():
    with pytest.raises(Exception) as info:
        Quotas(max_bookings_ahead=0)
    assert info.value.code == "invalid_booking_limits"


def test_the_week_is_local_monday_to_monday_across_dst():
    # Sunday 2030-03-31 23:30 in Rome is still the week that began Monday 03-25 (CET).
    week = local_week(datetime(2030, 3, 31, 21, 30, tzinfo=UTC), ROME)
    assert week.start == datetime(2030, 3, 24, 23, tzinfo=UTC)
    assert week.end == datetime(2030, 3, 31, 22, tzinfo=UTC)  # CEST midnight: 167 hours
    assert week.duration == timedelta(hours=167)
