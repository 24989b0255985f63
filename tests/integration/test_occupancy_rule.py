"""One rule, two spellings: `domain.states.occupies` and its SQL must agree on every case.

Fault it catches: the floor map, kiosk, catalogue or analytics (SQL) calling a slot taken
that the space actor (Python) calls free, or the other way round, e.g. at the exact instant a
hold lapses or for a hold without an expiry.
"""

from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.states import BookingStatus, occupies
from cowork.store.occupancy import occupies_sql

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
EXPIRIES = [None, NOW - timedelta(seconds=1), NOW, NOW + timedelta(seconds=1)]


@pytest.mark.parametrize("status", list(BookingStatus))
@pytest.mark.parametrize("expires_at", EXPIRIES, ids=["none", "before", "at", "after"])
async def test_sql_and_python_agree(db, status, expires_at):
    sql = (
        f"SELECT ({occupies_sql('b', '$3')}) AS occupies FROM (SELECT $1::text AS status,"
        " $2::timestamptz AS expires_at) b"
    )
    row = await db.fetchrow(sql, status.value, expires_at, NOW)
    assert row["occupies"] is occupies(status, expires_at, NOW)


def test_a_hold_lapses_at_its_expiry_instant():
    assert occupies(BookingStatus.HELD, NOW + timedelta(microseconds=1), NOW)
    assert not occupies(BookingStatus.HELD, NOW, NOW)
    assert occupies(BookingStatus.CONFIRMED, NOW - timedelta(days=1), NOW)
