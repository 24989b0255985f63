"""One rule, two spellings: the range a booking guards (`domain.buffers.guarded`, its SQL
`booking_guard` in the exclusion constraint), and the statuses that constraint guards
(`domain.states.LIVE_STATUSES`).

Fault it catches: the actor's memory and PostgreSQL disagreeing on where a booking's
turnaround ends, or on which statuses hold a slot (a request pending approval that the
constraint ignores would let two nodes book it twice).
"""

import re
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from cowork.domain.buffers import Buffers, guarded
from cowork.domain.slots import Slot
from cowork.domain.states import LIVE_STATUSES

START = datetime(2030, 3, 31, 0, 30, tzinfo=UTC)  # the night Europe/Rome springs forward


@pytest.mark.parametrize(
    ("before", "after", "minutes"), list(product([0, 15, 1440], [0, 45, 1440], [15, 600]))
)
async def test_sql_and_python_guard_the_same_range(db, before, after, minutes):
    # Whatever the session's time zone: minutes never depend on it.
    await db.execute("SET TIME ZONE 'Europe/Rome'")
    end = START + timedelta(minutes=minutes)
    row = await db.fetchrow(
        "SELECT lower(r) AS lo, upper(r) AS hi FROM booking_guard($1, $2, $3, $4) r",
        START,
        end,
        before,
        after,
    )
    expected = guarded(Slot(START, end), Buffers(before, after))
    assert (row["lo"], row["hi"]) == (expected.start, expected.end)


async def test_the_constraint_guards_exactly_the_live_statuses(db):
    definition = await db.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'bookings_no_overlap'"
    )
    assert "booking_guard(starts_at, ends_at, buffer_before_minutes, buffer_after_minutes)" in (
        definition
    )
    predicate = definition.split("WHERE", 1)[1]
    assert set(re.findall(r"'([a-z_]+)'::", predicate)) == {s.value for s in LIVE_STATUSES}
