"""Calendar feeds: which bookings a feed shows and as what, the identity calendar apps key on,
and the secret in a feed's URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

# What a subscribed calendar shows for each booking state. An expired hold was never booked
# and stays out; a cancellation or a no-show stays in as CANCELLED so an app that kept the
# event marks it instead of waiting for the next full refresh to drop it.
FEED_STATUS = {
    "held": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "cancelled": "CANCELLED",
    "no_show": "CANCELLED",
}
SHOWN_STATES = tuple(FEED_STATUS)
PAST_DAYS = 90  # a feed shows bookings that ended at most this long ago, and all future ones
MAX_EVENTS = 2000  # the most recent ones win; older ones drop out of the feed
REFRESH_MINUTES = 15  # what the feed asks calendar apps to poll at (most poll less often)
SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def feed_since(now: datetime) -> datetime:
    """Bookings that ended before this instant are no longer in a feed."""
    return now - timedelta(days=PAST_DAYS)


def booking_uid(booking_id: int, domain: str) -> str:
    """One booking, one UID, wherever it appears (this feed, an e-mailed invitation): calendar
    apps update the event they have instead of adding a second one."""
    return f"booking-{booking_id}@{domain}"


def sequence(changed_at: datetime) -> int:
    """RFC 5545 SEQUENCE: grows with every change of the booking (seconds from 2020 to its
    last change; a 32-bit integer until 2088), so an app replaces what it holds with the
    newer version."""
    return max(0, int((changed_at - SEQUENCE_EPOCH).total_seconds())) % 2**31


def feed_token(key: bytes, feed_id: int, nonce: str) -> str:
    """The secret in a feed's URL: derived, so the server can show it again, while what is
    stored (its sha256 and the nonce) opens nothing without the key."""
    mac = hmac.new(key, f"calendar-feed:{feed_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
