import re

from cowork.domain import errors
from cowork.domain.errors import ConflictError, DomainError, InvalidInputError
from cowork.domain.problems import Problem, by_code

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
        if isinstance(obj, type) and issubclass(obj, DomainError) and obj is not DomainError
    ]


def test_specific_codes_are_stable() -> None:
    for name, (code, status) in EXPECTED_CODES.items():
        cls = getattr(errors, name)
        assert (cls.problem.code, cls.problem.status) == (code, status), name
        assert issubclass(cls, ConflictError if status == 409 else InvalidInputError)


def test_each_error_class_names_its_own_problem() -> None:
    problems = [cls.problem for cls in _all_errors()]
    assert len(problems) == len(set(problems))


def test_catalogue_codes_are_unique_snake_case_without_aliases() -> None:
    # Two members with equal tuples would silently alias one code to another.
    assert len(Problem.__members__) == len(list(Problem))
    for problem in Problem:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", problem.code)
        assert 400 <= problem.status < 600
        assert problem.title and problem.meaning
        assert by_code(problem.code) is problem


def test_detail_defaults_to_title() -> None:
    err = errors.SlotTakenError()
    assert err.detail == err.title
    assert (err.code, err.status) == ("slot_taken", 409)
    assert str(errors.SlotTakenError("x", conflicts=[1]).extra) == "{'conflicts': [1]}"


def test_a_problem_raised_without_a_class_carries_its_code_and_headers() -> None:
    err = Problem.TOO_MANY_ATTEMPTS.error("wait", headers={"Retry-After": "3"})
    assert (err.code, err.status, err.detail, err.headers) == (
        "too_many_attempts",
        429,
        "wait",
        {"Retry-After": "3"},
    )
