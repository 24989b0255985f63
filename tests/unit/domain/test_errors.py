import re

from cowork.domain import errors
from cowork.domain.errors import ConflictError, DomainError, InvalidInputError

EXPECTED_CODES = {
    "SlotTakenError": ("slot_taken", 409),
    "InvalidTransitionError": ("invalid_transition", 409),
    "CheckInWindowError": ("check_in_window_closed", 409),
    "OutsideOpeningHoursError": ("outside_opening_hours", 422),
    "LocationClosedError": ("location_closed", 422),
    "SlotGranularityError": ("slot_granularity", 422),
    "SlotTooShortError": ("slot_too_short", 422),
    "SlotTooLongError": ("slot_too_long", 422),
    "SlotInPastError": ("slot_in_past", 422),
    "SlotTooFarAheadError": ("slot_too_far_ahead", 422),
    "SlotOrderError": ("slot_order", 422),
    "NaiveDatetimeError": ("naive_datetime", 422),
    "InvalidScheduleError": ("invalid_opening_hours", 422),
    "InvalidPolicyError": ("invalid_cancellation_policy", 422),
    "InvalidTimezoneError": ("invalid_timezone", 422),
}


def _all_errors() -> list[type[DomainError]]:
    return [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, DomainError)
    ]


def test_specific_codes_are_stable() -> None:
    for name, (code, status) in EXPECTED_CODES.items():
        cls = getattr(errors, name)
        assert (cls.code, cls.status) == (code, status), name
        assert issubclass(cls, ConflictError if status == 409 else InvalidInputError)


def test_codes_are_unique_snake_case() -> None:
    codes = [cls.code for cls in _all_errors()]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", c) for c in codes)


def test_detail_defaults_to_title() -> None:
    err = errors.SlotTakenError()
    assert err.detail == err.title
    assert str(errors.SlotTakenError("x", conflicts=[1]).extra) == "{'conflicts': [1]}"
