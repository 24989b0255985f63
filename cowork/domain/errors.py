"""Domain errors. Each has a stable `code` that clients may rely on and an HTTP status hint."""

from __future__ import annotations


class DomainError(Exception):
    code: str = "domain_error"
    status: int = 400
    title: str = "Request cannot be processed"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFoundError(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class ForbiddenError(DomainError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class UnauthorizedError(DomainError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class ConflictError(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidInputError(DomainError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


# Specific errors. Codes are part of the API contract: never rename them.


class SlotTakenError(ConflictError):
    code = "slot_taken"
    title = "The slot overlaps another booking"


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"
    title = "The booking cannot make this transition"


class CheckInWindowError(ConflictError):
    code = "check_in_window_closed"
    title = "Check-in is not open for this booking now"


class OutsideOpeningHoursError(InvalidInputError):
    code = "outside_opening_hours"
    title = "The slot is outside opening hours"


class LocationClosedError(InvalidInputError):
    code = "location_closed"
    title = "The location is closed on a day the slot covers"


class SlotGranularityError(InvalidInputError):
    code = "slot_granularity"
    title = "The slot does not start and end on the booking grid"


class SlotTooShortError(InvalidInputError):
    code = "slot_too_short"
    title = "The slot is shorter than the minimum"


class SlotTooLongError(InvalidInputError):
    code = "slot_too_long"
    title = "The slot is longer than the maximum"


class SlotInPastError(InvalidInputError):
    code = "slot_in_past"
    title = "The slot starts in the past"


class SlotTooFarAheadError(InvalidInputError):
    code = "slot_too_far_ahead"
    title = "The slot starts too far in the future"


class SlotOrderError(InvalidInputError):
    code = "slot_order"
    title = "The slot must end after it starts"


class NaiveDatetimeError(InvalidInputError):
    code = "naive_datetime"
    title = "Datetimes must carry a UTC offset"


class InvalidScheduleError(InvalidInputError):
    code = "invalid_opening_hours"
    title = "Opening hours are invalid"


class InvalidPolicyError(InvalidInputError):
    code = "invalid_cancellation_policy"
    title = "Cancellation policy is invalid"


class InvalidTimezoneError(InvalidInputError):
    code = "invalid_timezone"
    title = "Unknown time zone"


class InvalidLimitsError(InvalidInputError):
    code = "invalid_booking_limits"
    title = "Booking limits are invalid"


class InvalidClosureError(InvalidInputError):
    code = "invalid_closure"
    title = "Closure must end on or after its start date"


class InvalidPriceError(InvalidInputError):
    code = "invalid_price"
    title = "Prices must be non-negative integer cents"


class InvalidMoneyError(InvalidInputError):
    code = "invalid_money"
    title = "Money needs integer cents and a 3-letter currency code"
