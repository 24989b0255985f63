"""A feed's document: its bookings read from the store, worded, rendered as RFC 5545."""

from __future__ import annotations

from datetime import datetime

from cowork.domain.calendar import feed_since
from cowork.integrations.ics import FeedEntry, render_feed
from cowork.store.feeds import FeedBooking, FeedRow, feed_bookings, space_title

STATE_WORDS = {
    "held": "held, awaiting payment",
    "confirmed": "confirmed",
    "checked_in": "checked in",
    "completed": "completed",
    "cancelled": "cancelled",
    "no_show": "not used (no-show)",
}


def _entry(b: FeedBooking, *, personal: bool) -> FeedEntry:
    where = f"{b.address}, {b.city}"
    # A space's feed is read by its staff's calendar services: the slot and its state only,
    # never who booked it (the manager console has that).
    summary = f"{b.space_name} · {b.location_name}" if personal else f"{b.space_name}: booked"
    description = f"Booking {b.id}, {STATE_WORDS.get(b.status, b.status)}."
    return FeedEntry(
        booking_id=b.id,
        status=b.status,
        start=b.starts_at,
        end=b.ends_at,
        changed_at=b.updated_at,
        timezone=b.timezone,
        summary=summary,
        location=where,
        description=description,
    )


async def feed_document(feed: FeedRow, *, now: datetime, uid_domain: str) -> bytes:
    bookings = await feed_bookings(feed, feed_since(now))
    personal = feed.space_id is None
    entries = [_entry(b, personal=personal) for b in reversed(bookings)]
    name = "My cowork bookings" if feed.space_id is None else await space_title(feed.space_id)
    return render_feed(name, entries, uid_domain=uid_domain, stamp=now)
