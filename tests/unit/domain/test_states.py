from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from cowork.domain.errors import InvalidInputError, InvalidTransitionError
from cowork.domain.states import (
    LIVE_STATUSES,
    TRANSITIONS,
    BookingAction,
    BookingStatus,
    Deadline,
    DeadlineKind,
    can_transition,
    initial_state,
    is_live,
    is_terminal,
    next_deadline,
    transition,
)

S = BookingStatus
A = BookingAction

# Written out again on purpose: a change to the table must be a change to this test too.
EXPECTED = {
    (S.HELD, A.CONFIRM): S.CONFIRMED,
    (S.HELD, A.EXPIRE): S.EXPIRED,
    (S.HELD, A.CANCEL): S.CANCELLED,
    (S.HELD, A.RELEASE): S.CANCELLED,
    (S.HELD, A.RESCHEDULE): S.HELD,
    (S.CONFIRMED, A.CHECK_IN): S.CHECKED_IN,
    (S.CONFIRMED, A.CANCEL): S.CANCELLED,
    (S.CONFIRMED, A.MARK_NO_SHOW): S.NO_SHOW,
    (S.CONFIRMED, A.COMPLETE): S.COMPLETED,
    (S.CONFIRMED, A.RESCHEDULE): S.CONFIRMED,
    (S.CHECKED_IN, A.COMPLETE): S.COMPLETED,
    (S.EXPIRED, A.CONFIRM): S.CONFIRMED,
    (S.EXPIRED, A.CANCEL): S.CANCELLED,
    (S.PENDING_APPROVAL, A.APPROVE): S.CONFIRMED,
    (S.PENDING_APPROVAL, A.APPROVE_TO_PAY): S.HELD,
    (S.PENDING_APPROVAL, A.DECLINE): S.DECLINED,
    (S.PENDING_APPROVAL, A.CANCEL): S.CANCELLED,
}


def test_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("status", "action"), list(product(BookingStatus, BookingAction)))
def test_every_status_action_pair(status: BookingStatus, action: BookingAction) -> None:
    if (status, action) in EXPECTED:
        assert transition(status, action) is EXPECTED[(status, action)]
        assert can_transition(status, action)
    else:
        assert not can_transition(status, action)
        with pytest.raises(InvalidTransitionError) as info:
            transition(status, action)
        assert info.value.code == "invalid_transition"
        assert info.value.status == 409
        assert info.value.extra == {"current": status.value, "action": action.value}
        assert status.value in info.value.detail
        assert action.value in info.value.detail


def test_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(S.COMPLETED, A.CANCEL)] = S.CANCELLED  # type: ignore[index]


def test_live_statuses_hold_the_slot() -> None:
    assert {S.HELD, S.CONFIRMED, S.CHECKED_IN, S.PENDING_APPROVAL} == LIVE_STATUSES
    assert is_live(S.HELD)
    assert not is_live(S.EXPIRED)


def test_terminal_statuses() -> None:
    assert {s for s in BookingStatus if is_terminal(s)} == {
        S.COMPLETED,
        S.CANCELLED,
        S.NO_SHOW,
        S.DECLINED,
    }


def test_enum_values_are_stable_strings() -> None:
    assert [s.value for s in BookingStatus] == [
        "held",
        "confirmed",
        "checked_in",
        "completed",
        "cancelled",
        "expired",
        "no_show",
        "pending_approval",
        "declined",
    ]
    assert str(A.MARK_NO_SHOW) == "mark_no_show"
    assert str(A.APPROVE_TO_PAY) == "approve_to_pay"


START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
EXPIRES = START - timedelta(days=1)
GRACE = timedelta(minutes=15)


def _deadline(status: BookingStatus, end: datetime = END) -> Deadline | None:
    return next_deadline(
        status, starts_at=START, ends_at=end, expires_at=EXPIRES, no_show_grace=GRACE
    )


def test_held_waits_for_hold_expiry() -> None:
    assert _deadline(S.HELD) == Deadline(DeadlineKind.HOLD_EXPIRY, EXPIRES, A.EXPIRE)


def test_held_without_expiry_is_rejected() -> None:
    with pytest.raises(InvalidInputError):
        next_deadline(S.HELD, starts_at=START, ends_at=END, expires_at=None, no_show_grace=GRACE)


def test_confirmed_waits_for_no_show() -> None:
    assert _deadline(S.CONFIRMED) == Deadline(DeadlineKind.NO_SHOW, START + GRACE, A.MARK_NO_SHOW)


def test_confirmed_short_booking_waits_for_completion() -> None:
    short_end = START + GRACE
    assert _deadline(S.CONFIRMED, short_end) == Deadline(
        DeadlineKind.COMPLETION, short_end, A.COMPLETE
    )


def test_checked_in_waits_for_completion() -> None:
    assert _deadline(S.CHECKED_IN) == Deadline(DeadlineKind.COMPLETION, END, A.COMPLETE)


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.CONFIRMED])
def test_a_used_booking_completes_after_its_turnaround(status: BookingStatus) -> None:
    """Fault: the booking completes at its end and its buffer after stops guarding the room
    while it is still being cleaned."""
    after = timedelta(minutes=30)
    short_end = START + GRACE  # a confirmed booking shorter than its grace completes too
    end = END if status is S.CHECKED_IN else short_end
    got = next_deadline(
        status,
        starts_at=START,
        ends_at=end,
        expires_at=None,
        no_show_grace=GRACE,
        turnaround=after,
    )
    assert got == Deadline(DeadlineKind.COMPLETION, end + after, A.COMPLETE)


def test_pending_request_waits_for_its_approval_deadline() -> None:
    """Fault: a request nobody decides on holds its slot for ever."""
    assert _deadline(S.PENDING_APPROVAL) == Deadline(DeadlineKind.APPROVAL, EXPIRES, A.DECLINE)
    with pytest.raises(InvalidInputError):
        next_deadline(
            S.PENDING_APPROVAL, starts_at=START, ends_at=END, expires_at=None, no_show_grace=GRACE
        )


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.EXPIRED, S.NO_SHOW, S.DECLINED])
def test_other_statuses_wait_for_nothing(status: BookingStatus) -> None:
    assert _deadline(status) is None


@pytest.mark.parametrize("status", list(BookingStatus))
def test_deadline_action_is_a_valid_transition(status: BookingStatus) -> None:
    deadline = _deadline(status)
    if deadline is not None:
        transition(status, deadline.action)


NOW = START - timedelta(days=2)
HOLD = timedelta(minutes=10)
WINDOW = timedelta(hours=24)


def _initial(price: int, approval: bool, *, offered: bool = False, start: datetime = START):
    return initial_state(
        price_cents=price,
        needs_approval=approval,
        now=NOW,
        starts_at=start,
        hold_ttl=HOLD,
        approval_window=WINDOW,
        offered=offered,
    )


@pytest.mark.parametrize("offered", [False, True])
@pytest.mark.parametrize("price", [0, 500])
def test_a_space_needing_approval_starts_every_booking_pending(price, offered) -> None:
    """Fault: a paid or offered booking skips the manager's approval."""
    assert _initial(price, True, offered=offered) == (S.PENDING_APPROVAL, NOW + WINDOW)


def test_the_approval_deadline_never_passes_the_start() -> None:
    """Fault: a request starting in an hour waits a day for its decision (slot wasted)."""
    soon = NOW + timedelta(hours=1)
    assert _initial(0, True, start=soon) == (S.PENDING_APPROVAL, soon)


def test_paid_is_held_free_is_confirmed_offered_is_always_held() -> None:
    """Fault: a free waitlist offer confirms itself without its member taking it."""
    assert _initial(500, False) == (S.HELD, NOW + HOLD)
    assert _initial(0, False) == (S.CONFIRMED, None)
    assert _initial(0, False, offered=True) == (S.HELD, NOW + HOLD)
