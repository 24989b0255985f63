"""Recurring series: an RFC 5545 RRULE expanded in the location's wall-clock time.

The rule is anchored at a local date and time (DTSTART with the location's TZID), so every
occurrence keeps its local start across daylight-saving changes: 09:00 stays 09:00, the UTC
instant moves. python-dateutil expands the rule; we accept the part of RFC 5545 a booking
series needs and refuse the rest with one problem code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from cowork.domain.problems import DomainError, Problem
from cowork.domain.slots import Slot

MAX_OCCURRENCES = 52
MAX_INTERVAL = 52
MAX_DURATION_MINUTES = 24 * 60
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_KEYS = frozenset({"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"})
_UNTIL = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")


class SeriesMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"  # every occurrence or none
    BOOK_AVAILABLE = "book_available"  # those that can be booked; the answer says which not


class SeriesScope(StrEnum):
    ONE = "one"  # the occurrence named
    FOLLOWING = "following"  # the occurrence named and every later one
    ALL = "all"  # every occurrence not yet begun


class InvalidRecurrenceError(DomainError):
    problem = Problem.INVALID_RECURRENCE


@dataclass(frozen=True, slots=True)
class Recurrence:
    rule: str  # e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=8" ("RRULE:" prefix allowed)
    first_date: date  # local date the series starts from (DTSTART's date)
    start_time: time  # local wall-clock start of every occurrence
    duration_minutes: int  # wall-clock length of every occurrence


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    text = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    parts: dict[str, str] = {}
    for item in filter(None, text.split(";")):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or key not in _KEYS or key in parts:
            raise InvalidRecurrenceError(f"unsupported or repeated RRULE part {item!r}")
        parts[key] = value.strip().upper()
    return parts


def _check(parts: dict[str, str], limit: int) -> None:
    if parts.get("FREQ") not in ("WEEKLY", "DAILY"):
        raise InvalidRecurrenceError("FREQ must be WEEKLY or DAILY")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise InvalidRecurrenceError("give exactly one of COUNT and UNTIL")
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= limit):
        raise InvalidRecurrenceError(f"COUNT must be 1..{limit}")
    interval = parts.get("INTERVAL", "1")
    if not (interval.isdigit() and 1 <= int(interval) <= MAX_INTERVAL):
        raise InvalidRecurrenceError(f"INTERVAL must be 1..{MAX_INTERVAL}")
    days = parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []
    if any(d not in _DAYS for d in days) or parts.get("WKST", "MO") not in _DAYS:
        raise InvalidRecurrenceError("BYDAY and WKST take plain weekdays (MO..SU)")


def _until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as an instant: UTC with Z, the location's wall clock without; a date alone
    includes that whole local day."""
    match = _UNTIL.match(value)
    try:
        if match is None:
            raise ValueError(value)
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        if match.group(2) is None:
            return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz) - timedelta(
                microseconds=1
            )
        clock = datetime.strptime(match.group(3), "%H%M%S").time()
        return datetime.combine(day, clock, tzinfo=UTC if match.group(4) else tz)
    except (ValueError, OverflowError):
        raise InvalidRecurrenceError("UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSS[Z]") from None


def occurrences(rec: Recurrence, tz: ZoneInfo, limit: int = MAX_OCCURRENCES) -> list[Slot]:
    """Every occurrence as a UTC slot, in order; at most `limit` of them."""
    if not 1 <= rec.duration_minutes <= MAX_DURATION_MINUTES:
        raise InvalidRecurrenceError(f"duration_minutes must be 1..{MAX_DURATION_MINUTES}")
    parts = _parts(rec.rule)
    _check(parts, limit)
    until = _until(parts.pop("UNTIL"), tz) if "UNTIL" in parts else None
    first = datetime.combine(rec.first_date, rec.start_time, tzinfo=tz)
    rule = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        starts = iter(rrulestr(rule, dtstart=first))
        if until is not None:  # the rule itself has no end here: stop at the first one past it
            starts = takewhile(lambda start: start <= until, starts)
        wanted = list(islice(starts, limit + 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidRecurrenceError(f"the RRULE cannot be expanded: {exc}") from None
    if len(wanted) > limit:
        raise InvalidRecurrenceError(f"a series has at most {limit} occurrences")
    if not wanted:
        raise InvalidRecurrenceError("the rule yields no occurrence")
    length = timedelta(minutes=rec.duration_minutes)
    # Same tzinfo on both ends: `+` is wall-clock arithmetic, which keeps the local times.
    return [Slot(start, start + length) for start in wanted]
