from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.checkin import check_in_window, ensure_check_in_allowed
from cowork.domain.errors import CheckInWindowError, InvalidTransitionError
from cowork.domain.slots import Slot
from cowork.domain.states import BookingStatus

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
EARLY = timedelta(minutes=15)
GRACE = timedelta(minutes=10)


def test_window() -> None:
    assert check_in_window(START, early=EARLY, grace=GRACE) == Slot(START - EARLY, START + GRACE)


@pytest.mark.parametrize("offset", [-15, -1, 0, 9])
def test_inside_window(offset: int) -> None:
    ensure_check_in_allowed(
        BookingStatus.CONFIRMED,
        START,
        now=START + timedelta(minutes=offset),
        early=EARLY,
        grace=GRACE,
    )


@pytest.mark.parametrize("offset", [-16, 10, 120])
def test_outside_window(offset: int) -> None:
    with pytest.raises(CheckInWindowError) as info:
        ensure_check_in_allowed(
            BookingStatus.CONFIRMED,
            START,
            now=START + timedelta(minutes=offset),
            early=EARLY,
            grace=GRACE,
        )
    assert info.value.code == "check_in_window_closed"
    assert info.value.status == 409


@pytest.mark.parametrize("status", [s for s in BookingStatus if s is not BookingStatus.CONFIRMED])
def test_only_confirmed_can_check_in(status: BookingStatus) -> None:
    with pytest.raises(InvalidTransitionError):
        ensure_check_in_allowed(status, START, now=START, early=EARLY, grace=GRACE)
