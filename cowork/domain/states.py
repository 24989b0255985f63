"""Booking lifecycle: the one transition table and the deadline each live state waits for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from cowork.domain.errors import InvalidInputError, InvalidTransitionError


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"
    PENDING_APPROVAL = "pending_approval"  # a request a manager must approve; holds its slot
    DECLINED = "declined"  # a request a manager declined, or nobody decided in time


class BookingAction(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check_in"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"
    MARK_NO_SHOW = "mark_no_show"
    RESCHEDULE = "reschedule"
    RELEASE = "release"  # payment failed
    APPROVE = "approve"  # a request for a free space: booked at once
    APPROVE_TO_PAY = "approve_to_pay"  # a request for a paid space: held until paid
    DECLINE = "decline"  # by a manager, or by the timer at the request's deadline


# Statuses whose booking holds its slot in the space's timeline.
LIVE_STATUSES: frozenset[BookingStatus] = frozenset(
    {
        BookingStatus.HELD,
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.PENDING_APPROVAL,
    }
)

_S = BookingStatus
_A = BookingAction

TRANSITIONS: Mapping[tuple[BookingStatus, BookingAction], BookingStatus] = MappingProxyType(
    {
        (_S.HELD, _A.CONFIRM): _S.CONFIRMED,
        (_S.HELD, _A.EXPIRE): _S.EXPIRED,
        (_S.HELD, _A.CANCEL): _S.CANCELLED,
        (_S.HELD, _A.RELEASE): _S.CANCELLED,
        (_S.HELD, _A.RESCHEDULE): _S.HELD,
        (_S.CONFIRMED, _A.CHECK_IN): _S.CHECKED_IN,
        (_S.CONFIRMED, _A.CANCEL): _S.CANCELLED,
        (_S.CONFIRMED, _A.MARK_NO_SHOW): _S.NO_SHOW,
        (_S.CONFIRMED, _A.COMPLETE): _S.COMPLETED,
        (_S.CONFIRMED, _A.RESCHEDULE): _S.CONFIRMED,
        (_S.CHECKED_IN, _A.COMPLETE): _S.COMPLETED,
        # A payment that arrives after the hold lapsed: confirm if the slot is
        # still free, otherwise cancel (and refund) because the slot is lost.
        (_S.EXPIRED, _A.CONFIRM): _S.CONFIRMED,
        (_S.EXPIRED, _A.CANCEL): _S.CANCELLED,
        # A request awaiting a manager: approved (held until paid, or booked when free),
        # declined (by a manager or at its deadline), or withdrawn by its member.
        (_S.PENDING_APPROVAL, _A.APPROVE): _S.CONFIRMED,
        (_S.PENDING_APPROVAL, _A.APPROVE_TO_PAY): _S.HELD,
        (_S.PENDING_APPROVAL, _A.DECLINE): _S.DECLINED,
        (_S.PENDING_APPROVAL, _A.CANCEL): _S.CANCELLED,
    }
)

TERMINAL_STATUSES: frozenset[BookingStatus] = frozenset(
    s for s in BookingStatus if not any(src == s for src, _ in TRANSITIONS)
)


def transition(current: BookingStatus, action: BookingAction) -> BookingStatus:
    """Return the status `action` leads to from `current`; raise if the table has no such edge."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransitionError(
            f"cannot {action.value} a booking that is {current.value}",
            current=current.value,
            action=action.value,
        ) from None


def can_transition(current: BookingStatus, action: BookingAction) -> bool:
    """True when the table has an edge for `action` from `current`."""
    return (current, action) in TRANSITIONS


def is_terminal(status: BookingStatus) -> bool:
    """A status is terminal when no action leaves it (expired is not: a late payment may act)."""
    return status in TERMINAL_STATUSES


def is_live(status: BookingStatus) -> bool:
    """A live booking holds its slot (unless it is a hold that has lapsed: see `occupies`)."""
    return status in LIVE_STATUSES


def hold_lapsed(status: BookingStatus, expires_at: datetime | None, now: datetime) -> bool:
    """A hold lapses at its `expires_at`: from that instant on it no longer holds its slot,
    even before the timer has marked it expired."""
    return status is BookingStatus.HELD and expires_at is not None and expires_at <= now


def occupies(status: BookingStatus, expires_at: datetime | None, now: datetime) -> bool:
    """Does a booking hold its slot at `now`? Live, and not a lapsed hold.

    A request pending approval holds its slot until it is declined (its `expires_at` is the
    managers' deadline, not a lapse): the timer declines it at that instant.

    The one rule for the actor's memory, the floor map, the kiosk and analytics; its SQL
    spelling is `cowork.store.occupancy.occupies_sql` (a test keeps the two equal).
    """
    return status in LIVE_STATUSES and not hold_lapsed(status, expires_at, now)


# The event each status is entered with.
EVENT_OF: Mapping[BookingStatus, str] = MappingProxyType(
    {status: f"booking.{status.value}" for status in BookingStatus}
)


# What a space shows on the floor map and the dashboard, by the booking occupying it now.
FLOOR_LABELS: Mapping[BookingStatus | None, str] = MappingProxyType(
    {
        None: "free",
        BookingStatus.HELD: "held",
        BookingStatus.CONFIRMED: "booked",
        BookingStatus.CHECKED_IN: "occupied",
        BookingStatus.PENDING_APPROVAL: "pending",
    }
)
# A space inside a booking's turnaround (its buffer before or after): not bookable, not used.
TURNAROUND_LABEL = "turnaround"


class DeadlineKind(StrEnum):
    HOLD_EXPIRY = "hold_expiry"
    NO_SHOW = "no_show"
    COMPLETION = "completion"
    APPROVAL = "approval"  # nobody approved the request in time: it declines itself


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: DeadlineKind
    at: datetime
    action: BookingAction


def next_deadline(
    status: BookingStatus,
    *,
    starts_at: datetime,
    ends_at: datetime,
    expires_at: datetime | None,
    no_show_grace: timedelta,
    turnaround: timedelta = timedelta(0),
) -> Deadline | None:
    """The timed action a booking in `status` waits for; None when nothing is due.

    A used booking completes when its `turnaround` (the buffer after it) is over, not at its
    end: until then it stays live, so the constraint keeps the room free for cleaning.
    """
    if status is BookingStatus.HELD:
        if expires_at is None:
            raise InvalidInputError("a held booking needs expires_at", field="expires_at")
        return Deadline(DeadlineKind.HOLD_EXPIRY, expires_at, BookingAction.EXPIRE)
    if status is BookingStatus.CONFIRMED:
        no_show_at = starts_at + no_show_grace
        if no_show_at < ends_at:
            return Deadline(DeadlineKind.NO_SHOW, no_show_at, BookingAction.MARK_NO_SHOW)
        return Deadline(DeadlineKind.COMPLETION, ends_at + turnaround, BookingAction.COMPLETE)
    if status is BookingStatus.CHECKED_IN:
        return Deadline(DeadlineKind.COMPLETION, ends_at + turnaround, BookingAction.COMPLETE)
    if status is BookingStatus.PENDING_APPROVAL:
        if expires_at is None:
            raise InvalidInputError("a pending request needs expires_at", field="expires_at")
        return Deadline(DeadlineKind.APPROVAL, expires_at, BookingAction.DECLINE)
    return None


def initial_state(
    *,
    price_cents: int,
    needs_approval: bool,
    now: datetime,
    starts_at: datetime,
    hold_ttl: timedelta,
    approval_window: timedelta,
    offered: bool = False,
) -> tuple[BookingStatus, datetime | None]:
    """How a new booking begins, and its `expires_at`.

    A space that needs approval: a request pending until the managers' deadline (the window,
    but never past the start). Otherwise a hold until paid, or confirmed at once when free;
    a waitlist offer (`offered`) is always a hold, so its member must take it.
    """
    if needs_approval:
        return BookingStatus.PENDING_APPROVAL, min(now + approval_window, starts_at)
    if price_cents > 0 or offered:
        return BookingStatus.HELD, now + hold_ttl
    return BookingStatus.CONFIRMED, None
