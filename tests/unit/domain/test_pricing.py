from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cowork.domain.errors import InvalidMoneyError, InvalidPriceError
from cowork.domain.pricing import Money, is_free, price_cents, split_at_local_midnights
from cowork.domain.schedule import local_days
from cowork.domain.slots import Slot

ROME = ZoneInfo("Europe/Rome")
ZONES = [
    ROME,
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("UTC"),
]


def rome(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ROME)


@pytest.mark.parametrize(("day", "hours"), [(29, 5), (25, 7)])
def test_dst_night_is_priced_by_real_hours(day: int, hours: int) -> None:
    month = 3 if day == 29 else 10
    slot = Slot(rome(2026, month, day, 0), rome(2026, month, day, 6))
    assert price_cents(slot, tz=ROME, hourly_cents=1000, daily_cents=None) == hours * 1000
    assert price_cents(slot, tz=ROME, hourly_cents=1000, daily_cents=99_999) == hours * 1000


def test_daily_cap_applies_per_local_day() -> None:
    # Mon 20:00 -> Wed 10:00: 4 h + 24 h (capped) + 10 h (capped)
    slot = Slot(rome(2026, 5, 4, 20), rome(2026, 5, 6, 10))
    assert price_cents(slot, tz=ROME, hourly_cents=1000, daily_cents=6000) == 4000 + 6000 + 6000
    assert price_cents(slot, tz=ROME, hourly_cents=1000, daily_cents=None) == 38_000


def test_split_is_at_local_not_utc_midnight() -> None:
    slot = Slot(rome(2026, 5, 4, 23), rome(2026, 5, 5, 1))
    pieces = split_at_local_midnights(slot, ROME)
    assert [p.duration for p in pieces] == [timedelta(hours=1), timedelta(hours=1)]
    assert pieces[0].end == rome(2026, 5, 5, 0)


def test_rounding_is_half_up_in_integers() -> None:
    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    quarter = Slot(start, start + timedelta(minutes=15))
    assert price_cents(quarter, tz=ROME, hourly_cents=2, daily_cents=None) == 1  # 0.5 -> 1
    assert price_cents(quarter, tz=ROME, hourly_cents=1, daily_cents=None) == 0  # 0.25 -> 0
    assert price_cents(quarter, tz=ROME, hourly_cents=3, daily_cents=None) == 1  # 0.75 -> 1
    big = 10**15 + 1  # too large for float-exact arithmetic
    assert price_cents(quarter, tz=ROME, hourly_cents=big * 4, daily_cents=None) == big


def test_negative_prices_rejected() -> None:
    slot = Slot(rome(2026, 5, 4, 9), rome(2026, 5, 4, 10))
    with pytest.raises(InvalidPriceError) as info:
        price_cents(slot, tz=ROME, hourly_cents=-1, daily_cents=None)
    assert info.value.status == 422
    with pytest.raises(InvalidPriceError):
        price_cents(slot, tz=ROME, hourly_cents=100, daily_cents=-1)
    with pytest.raises(InvalidPriceError):
        is_free(-1, None)


@pytest.mark.parametrize(
    ("hourly", "daily", "free"),
    [
        (0, None, True),
        (0, 0, True),
        (0, 500, True),
        (100, 0, True),
        (100, None, False),
        (100, 500, False),
    ],
)
def test_is_free_matches_price(hourly: int, daily: int | None, free: bool) -> None:
    assert is_free(hourly, daily) is free
    slot = Slot(rome(2026, 5, 4, 9), rome(2026, 5, 6, 10))
    assert (price_cents(slot, tz=ROME, hourly_cents=hourly, daily_cents=daily) == 0) is free


def test_money() -> None:
    assert Money(1250, "EUR").amount_cents == 1250
    for bad in ("eur", "EURO", "E1R", ""):
        with pytest.raises(InvalidMoneyError):
            Money(1, bad)
    with pytest.raises(InvalidMoneyError):
        Money(1.5, "EUR")  # type: ignore[arg-type]


starts = st.integers(min_value=0, max_value=365 * 24 * 4).map(
    lambda q: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * q)
)
minutes = st.integers(min_value=1, max_value=10 * 24 * 60)
hourly_prices = st.integers(min_value=0, max_value=100_000)
daily_caps = st.none() | st.integers(min_value=0, max_value=500_000)
zones = st.sampled_from(ZONES)


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(starts, minutes, hourly_prices, daily_caps, zones)
def test_price_never_exceeds_days_times_daily_cap(
    start: datetime, length: int, hourly: int, daily: int | None, tz: ZoneInfo
) -> None:
    slot = Slot(start, start + timedelta(minutes=length))
    price = price_cents(slot, tz=tz, hourly_cents=hourly, daily_cents=daily)
    assert price >= 0
    if daily is not None:
        assert price <= len(local_days(slot, tz)) * daily


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(starts, minutes, minutes, hourly_prices, daily_caps, zones)
def test_price_is_monotone_in_duration(
    start: datetime, a: int, b: int, hourly: int, daily: int | None, tz: ZoneInfo
) -> None:
    short, long = sorted((a, b))

    def price(length: int) -> int:
        slot = Slot(start, start + timedelta(minutes=length))
        return price_cents(slot, tz=tz, hourly_cents=hourly, daily_cents=daily)

    assert price(short) <= price(long)


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(starts, minutes, hourly_prices, zones)
def test_uncapped_price_tracks_elapsed_hours(
    start: datetime, length: int, hourly: int, tz: ZoneInfo
) -> None:
    slot = Slot(start, start + timedelta(minutes=length))
    pieces = split_at_local_midnights(slot, tz)
    assert sum((p.duration for p in pieces), timedelta()) == slot.duration
    price = price_cents(slot, tz=tz, hourly_cents=hourly, daily_cents=None)
    exact_times_60 = hourly * length  # exact price x 60
    # each piece rounds by at most half a cent
    assert abs(price * 60 - exact_times_60) <= 30 * len(pieces)
