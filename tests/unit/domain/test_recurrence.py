"""Recurring series expand in the location's wall-clock time.

Faults caught: an occurrence drifting to 08:00 or 10:00 local after a daylight-saving change
(UTC arithmetic instead of wall-clock), an UNTIL read in the wrong zone, a rule we cannot
book (monthly, ordinals, BYHOUR) silently accepted, an unbounded series.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from cowork.domain.recurrence import MAX_OCCURRENCES, Recurrence, occurrences

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def local_starts(rule: str, first: date, tz: ZoneInfo, minutes: int = 60) -> list[str]:
    slots = occurrences(Recurrence(rule, first, time(9, 0), minutes), tz)
    return [s.start.astimezone(tz).strftime("%Y-%m-%d %H:%M %z") for s in slots]


def test_weekly_across_spring_forward_keeps_nine_local():
    # Europe/Rome springs forward on Sunday 2030-03-31.
    starts = local_starts("FREQ=WEEKLY;BYDAY=MO;COUNT=3", date(2030, 3, 25), ROME)
    assert starts == [
        "2030-03-25 09:00 +0100",
        "2030-04-01 09:00 +0200",
        "2030-04-08 09:00 +0200",
    ]


def test_weekly_across_fall_back_keeps_nine_local():
    # Europe/Rome falls back on Sunday 2030-10-27.
    slots = occurrences(
        Recurrence("FREQ=WEEKLY;BYDAY=FR;COUNT=2", date(2030, 10, 25), time(9), 120), ROME
    )
    assert [s.start for s in slots] == [
        datetime(2030, 10, 25, 7, tzinfo=UTC),
        datetime(2030, 11, 1, 8, tzinfo=UTC),
    ]
    assert all(s.end.astimezone(ROME).hour == 11 for s in slots)


def test_daily_over_the_dst_night_itself_in_new_york():
    # America/New_York springs forward at 02:00 on 2030-03-10.
    starts = local_starts("FREQ=DAILY;COUNT=3", date(2030, 3, 9), NEW_YORK)
    assert [s[11:] for s in starts] == ["09:00 -0500", "09:00 -0400", "09:00 -0400"]


def test_interval_and_weekdays():
    starts = local_starts(
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4", date(2030, 1, 7), ROME
    )
    assert [s[:10] for s in starts] == ["2030-01-07", "2030-01-09", "2030-01-21", "2030-01-23"]


@pytest.mark.parametrize(
    "until",
    ["20300121", "20300121T090000", "20300121T080000Z"],
    ids=["date: that whole local day", "floating: local time", "utc"],
)
def test_until_is_inclusive_in_each_form(until):
    starts = local_starts(f"FREQ=WEEKLY;UNTIL={until}", date(2030, 1, 7), ROME)
    assert [s[:10] for s in starts] == ["2030-01-07", "2030-01-14", "2030-01-21"]


def test_until_one_minute_before_the_occurrence_excludes_it():
    starts = local_starts("FREQ=WEEKLY;UNTIL=20300121T075900Z", date(2030, 1, 7), ROME)
    assert len(starts) == 2


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;COUNT=2",
        "FREQ=WEEKLY",  # no end
        "FREQ=WEEKLY;COUNT=2;UNTIL=20300301",
        f"FREQ=WEEKLY;COUNT={MAX_OCCURRENCES + 1}",
        "FREQ=DAILY;UNTIL=20990101",  # too many
        "FREQ=WEEKLY;BYDAY=1MO;COUNT=2",
        "FREQ=WEEKLY;BYHOUR=10;COUNT=2",
        "FREQ=WEEKLY;INTERVAL=0;COUNT=2",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "FREQ=WEEKLY;UNTIL=2030-03-01",
        "FREQ=WEEKLY;UNTIL=20291231",  # before the first date: nothing
        "FREQ=WEEKLY;UNTIL=99991231",
        "garbage",
        "",
    ],
)
def test_rules_we_do_not_book_are_refused_with_one_code(rule):
    with pytest.raises(Exception) as info:
        occurrences(Recurrence(rule, date(2030, 1, 7), time(9), 60), ROME)
    assert getattr(info.value, "code", None) == "invalid_recurrence"
    assert info.value.status == 422


def test_length_is_bounded():
    with pytest.raises(Exception) as info:
        occurrences(Recurrence("FREQ=DAILY;COUNT=2", date(2030, 1, 7), time(9), 0), ROME)
    assert info.value.code == "invalid_recurrence"
