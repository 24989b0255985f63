"""Check-in: allowed from `early` before start until `grace` after start."""

from __future__ import annotations

from datetime import datetime, timedelta

from cowork.domain.errors import CheckInWindowError, NoShowTooEarlyError
from cowork.domain.slots import Slot, to_utc
from cowork.domain.states import BookingAction, BookingStatus, transition


def check_in_window(starts_at: datetime, *, early: timedelta, grace: timedelta) -> Slot:
    """The half-open window [start - early, start + grace) in which check-in is allowed."""
    start = to_utc(starts_at, "starts_at")
    return Slot(start - early, start + grace)


def ensure_check_in_allowed(
    status: BookingStatus,
    starts_at: datetime,
    *,
    now: datetime,
    early: timedelta,
    grace: timedelta,
) -> None:
    """Raise unless the status can check in and `now` is inside the check-in window."""
    transition(status, BookingAction.CHECK_IN)
    window = check_in_window(starts_at, early=early, grace=grace)
    if not window.contains(now):
        raise CheckInWindowError(
            "check-in opens before start and closes after the grace period",
            opens_at=window.start.isoformat(),
            closes_at=window.end.isoformat(),
        )


def ensure_no_show_allowed(starts_at: datetime, *, now: datetime, grace: timedelta) -> None:
    """A no-show can be marked only once check-in has closed (start + grace)."""
    window = check_in_window(starts_at, early=timedelta(0), grace=grace)
    if now < window.end:
        raise NoShowTooEarlyError(
            "a no-show can be marked only after start + grace",
            check_in_closes_at=window.end.isoformat(),
        )
