"""Schemathesis hooks for the contract run (loaded by the `hooks` setting of fuzz.config).

`positive_data_acceptance` is configured to allow 400 and 422 for schema-valid requests,
because a domain rule the schema cannot express (a slot in the past, a cursor this server did
not issue, `to` before `from`) refuses them with its own code. This check keeps the part that
matters: a schema-valid request is never refused for its shape.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, Response

# The codes that mean "the request does not match the document" (docs/api.md).
SHAPE_CODES = frozenset(
    {
        "bad_request",
        "empty_body",
        "http_error",
        "invalid_parameter",
        "invalid_query",
        "malformed_json",
        "unsupported_media_type",
        "validation_failed",
    }
)


@schemathesis.check
def schema_valid_request_passes_the_edge(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if "json" not in (response.headers.get("content-type") or [""])[0]:
        return None
    body = response.json()
    code = body.get("code") if isinstance(body, dict) else None
    if code in SHAPE_CODES:
        raise AssertionError(
            f"A schema-valid request was refused for its shape: {code} ({body.get('detail')}; "
            f"{body.get('errors')})"
        )
    return None


# Dates and instants are declared with `pattern: ^20[0-9]{2}-` beside their format; drawing
# from the format alone and filtering on the pattern would discard 99 % of the draws.
def _instants() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30))
    offsets = st.sampled_from(["Z", "+00:00", "+01:00", "-05:00", "+05:30"])
    return st.builds(lambda m, o: m.replace(microsecond=0).isoformat() + o, moments, offsets)


schemathesis.openapi.format(
    "date", st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)).map(str)
)
schemathesis.openapi.format("date-time", _instants())


# A random slot is almost never bookable (past, beyond the horizon, off the grid), so holds
# would never succeed and the states behind them (pay, check in, reschedule, cancel) would go
# untested. Where a generated hold or reschedule already has two schema-valid instants, often
# swap in a slot the seeded location accepts: still schema-valid, so a negative case stays
# negative through whatever else it broke.
def _bookable_slots() -> st.SearchStrategy[dict[str, str]]:
    def slot(days: int, hour: int, hours: int) -> dict[str, str]:
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start += timedelta(days=days, hours=hour)
        return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}

    return st.builds(slot, st.integers(1, 60), st.integers(0, 23), st.integers(1, 4))


def _instant(value: object) -> bool:
    try:
        return isinstance(value, str) and 2000 <= datetime.fromisoformat(value).year <= 2099
    except ValueError:
        return False


# A random RRULE is almost never one we book, so no series would be made and its detail and
# cancel (reached by links) would only ever answer 404. Where a generated series already has
# the fields, often swap in a short daily or weekly rule on the hour, still schema-valid.
def _bookable_series() -> st.SearchStrategy[dict[str, object]]:
    def series(days: int, hour: int, count: int, freq: str) -> dict[str, object]:
        first = (datetime.now(UTC) + timedelta(days=days)).date()
        return {
            "rrule": f"FREQ={freq};COUNT={count}",
            "first_date": first.isoformat(),
            "start_time": f"{hour:02d}:00",
            "duration_minutes": 60,
        }

    freqs = st.sampled_from(["DAILY", "WEEKLY"])
    return st.builds(series, st.integers(1, 60), st.integers(0, 23), st.integers(1, 4), freqs)


def _series_fields_valid(body: dict[str, object]) -> bool:
    """The fields swapped are already schema-valid: a negative case stays negative."""
    rrule, first, start, minutes = (
        body.get(k) for k in ("rrule", "first_date", "start_time", "duration_minutes")
    )
    if not (isinstance(first, str) and re.fullmatch(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}", first)):
        return False
    try:
        date.fromisoformat(first)
    except ValueError:
        return False
    return (
        isinstance(rrule, str)
        and 1 <= len(rrule) <= 255
        and "\x00" not in rrule
        and isinstance(start, str)
        and re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", start) is not None
        and type(minutes) is int
        and 1 <= minutes <= 1440
    )


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: object) -> st.SearchStrategy[object]:
    operation = context.operation
    if operation is None or not isinstance(body, dict):
        return st.just(body)
    if operation.path.endswith("/series") and _series_fields_valid(body):
        return st.one_of(st.just(body), _bookable_series().map(lambda rule: {**body, **rule}))
    if not operation.path.endswith(("/bookings", "/reschedule")):
        return st.just(body)
    if not (_instant(body.get("start")) and _instant(body.get("end"))):
        return st.just(body)
    return st.one_of(st.just(body), _bookable_slots().map(lambda slot: {**body, **slot}))
