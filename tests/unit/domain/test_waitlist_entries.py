"""What a waitlist entry is, from its stored word and its offer's booking.

Faults caught: an offer that lapsed still shown as open, a paid offer shown as passed, an
entry whose slot began still shown waiting.
"""

from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.states import BookingStatus as B
from cowork.domain.waitlist import EntryStatus as E
from cowork.domain.waitlist import StoredEntry as W
from cowork.domain.waitlist import entry_status

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


@pytest.mark.parametrize(
    ("stored", "starts", "booking", "expires", "expected"),
    [
        (W.WAITING, LATER, None, None, E.WAITING),
        (W.WAITING, NOW, None, None, E.LAPSED),
        (W.LEFT, LATER, B.HELD, LATER, E.LEFT),
        (W.OFFERED, LATER, B.HELD, NOW + timedelta(minutes=5), E.OFFERED),
        (W.OFFERED, LATER, B.HELD, NOW, E.PASSED),  # lapsed at this instant
        (W.OFFERED, LATER, B.PENDING_APPROVAL, NOW, E.OFFERED),
        (W.OFFERED, LATER, B.CONFIRMED, None, E.BOOKED),
        (W.OFFERED, LATER, B.NO_SHOW, None, E.BOOKED),
        (W.OFFERED, LATER, B.EXPIRED, NOW, E.PASSED),
        (W.OFFERED, LATER, B.CANCELLED, None, E.PASSED),
        (W.OFFERED, LATER, B.DECLINED, None, E.PASSED),
    ],
)
def test_entry_status(stored, starts, booking, expires, expected):
    got = entry_status(
        stored, starts_at=starts, booking_status=booking, booking_expires_at=expires, now=NOW
    )
    assert got is expected
