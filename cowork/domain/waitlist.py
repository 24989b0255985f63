"""Waitlist entries: what a member waiting for a slot sees, derived from one stored word.

An entry is stored `waiting`, `offered` (naming the held booking it was offered) or `left`.
What became of an offer is that booking's status, so no write is needed when it is paid,
lapses or is cancelled: `entry_status` derives the rest. FIFO by entry id, per space.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from cowork.domain.states import BookingStatus, occupies

MAX_WAITING_PER_LOCATION = 20  # a member's live entries per location (abuse bound)
OFFER_CANDIDATES = 50  # waiting entries one offer pass looks at, oldest first


class StoredEntry(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    LEFT = "left"


class EntryStatus(StrEnum):
    WAITING = "waiting"  # in the queue
    OFFERED = "offered"  # the slot is held for this member now (accept or pay before `until`)
    BOOKED = "booked"  # the offer was accepted
    PASSED = "passed"  # the offer lapsed, was declined or cancelled: it went to the next
    LEFT = "left"  # the member left the waitlist
    LAPSED = "lapsed"  # the slot began before any offer came


_BOOKED = frozenset(
    {
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    }
)


def entry_status(
    stored: StoredEntry,
    *,
    starts_at: datetime,
    booking_status: BookingStatus | None,
    booking_expires_at: datetime | None,
    now: datetime,
) -> EntryStatus:
    """What an entry is now, from its stored word and its offer's booking."""
    if stored is StoredEntry.LEFT:
        return EntryStatus.LEFT
    if stored is StoredEntry.WAITING:
        return EntryStatus.WAITING if starts_at > now else EntryStatus.LAPSED
    if booking_status in _BOOKED:
        return EntryStatus.BOOKED
    if booking_status is not None and occupies(booking_status, booking_expires_at, now):
        return EntryStatus.OFFERED
    return EntryStatus.PASSED
