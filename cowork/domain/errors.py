"""Domain errors: one class per problem the rules raise. Codes live in `problems.Problem`."""

from __future__ import annotations

from cowork.domain.problems import DomainError, Problem

__all__ = ["DomainError", "Problem"]


class NotFoundError(DomainError):
    problem = Problem.NOT_FOUND


class ForbiddenError(DomainError):
    problem = Problem.FORBIDDEN


class UnauthorizedError(DomainError):
    problem = Problem.UNAUTHORIZED


class ConflictError(DomainError):
    problem = Problem.CONFLICT


class InvalidInputError(DomainError):
    problem = Problem.INVALID_INPUT


class SlotTakenError(ConflictError):
    problem = Problem.SLOT_TAKEN


class InvalidTransitionError(ConflictError):
    problem = Problem.INVALID_TRANSITION


class BookingChangedError(ConflictError):
    problem = Problem.BOOKING_CHANGED


class CheckInWindowError(ConflictError):
    problem = Problem.CHECK_IN_WINDOW_CLOSED


class NoShowTooEarlyError(ConflictError):
    problem = Problem.NO_SHOW_TOO_EARLY


class RescheduleCostsMoreError(ConflictError):
    problem = Problem.RESCHEDULE_COSTS_MORE


class PaymentMismatchError(ConflictError):
    problem = Problem.PAYMENT_MISMATCH


class SpaceInactiveError(ConflictError):
    problem = Problem.SPACE_INACTIVE


class SpaceNotFoundError(NotFoundError):
    problem = Problem.SPACE_NOT_FOUND


class LocationNotFoundError(NotFoundError):
    problem = Problem.LOCATION_NOT_FOUND


class BookingNotFoundError(NotFoundError):
    """Someone else's booking and no booking at all answer the same, word for word: a member
    must not learn that a booking exists."""

    problem = Problem.BOOKING_NOT_FOUND

    def __init__(self, booking_id: int) -> None:
        super().__init__(f"No booking {booking_id} of yours.")


class OutsideOpeningHoursError(InvalidInputError):
    problem = Problem.OUTSIDE_OPENING_HOURS


class LocationClosedError(InvalidInputError):
    problem = Problem.LOCATION_CLOSED


class SlotGranularityError(InvalidInputError):
    problem = Problem.SLOT_GRANULARITY


class SlotTooShortError(InvalidInputError):
    problem = Problem.SLOT_TOO_SHORT


class SlotTooLongError(InvalidInputError):
    problem = Problem.SLOT_TOO_LONG


class SlotInPastError(InvalidInputError):
    problem = Problem.SLOT_IN_PAST


class SlotTooFarAheadError(InvalidInputError):
    problem = Problem.SLOT_TOO_FAR_AHEAD


class SlotOrderError(InvalidInputError):
    problem = Problem.SLOT_ORDER


class InstantOutOfRangeError(InvalidInputError):
    problem = Problem.INSTANT_OUT_OF_RANGE


class NaiveDatetimeError(InvalidInputError):
    problem = Problem.NAIVE_DATETIME


class InvalidScheduleError(InvalidInputError):
    problem = Problem.INVALID_OPENING_HOURS


class InvalidPolicyError(InvalidInputError):
    problem = Problem.INVALID_CANCELLATION_POLICY


class InvalidTimezoneError(InvalidInputError):
    problem = Problem.INVALID_TIMEZONE


class InvalidLimitsError(InvalidInputError):
    problem = Problem.INVALID_BOOKING_LIMITS


class InvalidClosureError(InvalidInputError):
    problem = Problem.INVALID_CLOSURE


class InvalidPriceError(InvalidInputError):
    problem = Problem.INVALID_PRICE


class InvalidMoneyError(InvalidInputError):
    problem = Problem.INVALID_MONEY
