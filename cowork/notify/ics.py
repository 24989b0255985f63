"""Calendar invitations (RFC 5545) for a booking: added on confirmation, removed on cancel."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from cowork.domain.calendar import booking_uid, sequence

PRODID = "-//cowork//bookings//EN"


def booking_calendar(
    *,
    booking_id: int,
    start: datetime,
    end: datetime,
    summary: str,
    location: str,
    description: str,
    url: str,
    stamp: datetime,
    cancelled: bool = False,
) -> bytes:
    """One VEVENT whose UID is stable per booking, so a calendar updates or removes the event
    it already has (METHOD:CANCEL with a higher SEQUENCE) instead of adding a second one."""
    host = urlsplit(url).hostname or "cowork.invalid"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", booking_uid(booking_id, host))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # The stamp orders versions of the same booking: later mail, higher sequence (on the same
    # scale as calendar feeds, which share the UID).
    event.add("sequence", sequence(stamp))
    cal.add_component(event)
    return cal.to_ical()
