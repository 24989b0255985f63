"""Messages a space actor understands (imperative names) and who sends them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cowork.domain.recurrence import Recurrence, SeriesMode, SeriesScope
from cowork.domain.slots import Slot


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: a member acts on their own bookings; staff on their locations' bookings."""

    user_id: int | None
    is_admin: bool = False
    managed_locations: frozenset[int] = frozenset()
    kiosk_location_id: int | None = None

    def may_act_on(self, owner_id: int, location_id: int) -> bool:
        return self.user_id == owner_id or self.is_staff_of(location_id)

    def is_staff_of(self, location_id: int) -> bool:
        return self.is_admin or location_id in self.managed_locations


SYSTEM = Requester(user_id=None, is_admin=True)


@dataclass(frozen=True, slots=True)
class PlaceHold:
    requester: Requester
    start: datetime
    end: datetime
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    """Payment succeeded (or a late payment arrived for a lapsed hold): confirm only if what
    was paid is the booking's price at this moment."""

    booking_id: int
    amount_cents: int
    currency: str


@dataclass(frozen=True, slots=True)
class Release:
    """Payment failed: the hold gives its slot back."""

    booking_id: int


@dataclass(frozen=True, slots=True)
class Cancel:
    requester: Requester
    booking_id: int
    reason: str | None = None  # None: recorded as cancelled by the member or by staff
    idempotency_id: int | None = None
    note: str | None = None  # the member's own words; personal, never public


@dataclass(frozen=True, slots=True)
class CheckIn:
    requester: Requester
    booking_id: int
    idempotency_id: int | None = None
    presence_code: str | None = None  # the code a kiosk of the location shows (members)
    pin: str | None = None  # the booking's PIN (typed on a kiosk)


@dataclass(frozen=True, slots=True)
class Reschedule:
    requester: Requester
    booking_id: int
    start: datetime
    end: datetime
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class MarkNoShow:
    requester: Requester
    booking_id: int
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeadlineDue:
    """The timer claimed this booking's deadline; act on it if it is really due."""

    booking_id: int


@dataclass(frozen=True, slots=True)
class GetAvailability:
    window: Slot


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop cached rules and schedule (the space or its location changed)."""


# -- scheduling: approvals, waitlist, series (cowork.actors.space_approvals, …) -------------


@dataclass(frozen=True, slots=True)
class Approve:
    """A manager approves a request: held until paid, or booked when the space is free."""

    requester: Requester
    booking_id: int
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decline:
    requester: Requester
    booking_id: int
    note: str | None = None  # told to the member, never public
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class JoinWaitlist:
    requester: Requester
    start: datetime
    end: datetime
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class LeaveWaitlist:
    """Leave the queue; an open offer is declined (its hold cancelled, passed to the next)."""

    requester: Requester
    entry_id: int


@dataclass(frozen=True, slots=True)
class AcceptOffer:
    """Take a free offered slot (a paid one is taken by paying its held booking)."""

    requester: Requester
    entry_id: int
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlaceSeries:
    requester: Requester
    recurrence: Recurrence
    mode: SeriesMode
    idempotency_id: int | None = None


@dataclass(frozen=True, slots=True)
class CancelSeries:
    """Cancel one occurrence, this one and the following, or all (those not yet begun)."""

    requester: Requester
    series_id: int
    scope: SeriesScope
    booking_id: int | None = None  # the occurrence `one` and `following` start from
    reason: str | None = None
    note: str | None = None
    idempotency_id: int | None = None


Command = (
    PlaceHold
    | Confirm
    | Release
    | Cancel
    | CheckIn
    | Reschedule
    | MarkNoShow
    | DeadlineDue
    | GetAvailability
    | Forget
    | Approve
    | Decline
    | JoinWaitlist
    | LeaveWaitlist
    | AcceptOffer
    | PlaceSeries
    | CancelSeries
)
