"""A calendar feed as RFC 5545 text (icalendar): each booking in its location's time zone.

Times are written as local wall-clock time with a TZID and the VTIMEZONE that defines it, so a
calendar app shows 09:00 in Rome as 09:00 in Rome on either side of a daylight-saving change,
whatever zone the app itself is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vDuration

from cowork.domain.calendar import FEED_STATUS, REFRESH_MINUTES, booking_uid, sequence

PRODID = "-//cowork//bookings//EN"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    booking_id: int
    status: str
    start: datetime
    end: datetime
    changed_at: datetime
    timezone: str
    summary: str
    location: str
    description: str


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    # Building a VTIMEZONE walks every transition in the range: slow, and the same each time.
    return Timezone.from_tzid(
        tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )


def render_feed(
    name: str, entries: Sequence[FeedEntry], *, uid_domain: str, stamp: datetime
) -> bytes:
    """The whole feed: a calendar app replaces its copy with it at every refresh."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    refresh = timedelta(minutes=REFRESH_MINUTES)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    zones: dict[str, list[int]] = {}
    for entry in entries:
        years = zones.setdefault(entry.timezone, [entry.start.year, entry.end.year])
        years[0] = min(years[0], entry.start.year)
        years[1] = max(years[1], entry.end.year)
    # VTIMEZONEs first: an app reading top to bottom knows each TZID before an event uses it.
    for tzid, (first, last) in sorted(zones.items()):
        cal.add_component(_vtimezone(tzid, first - 1, last + 1))
    for entry in entries:
        cal.add_component(_event(entry, uid_domain, stamp))
    return cal.to_ical()


def _wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    """Local time in the location's zone, except in the repeated hour of a fall-back night:
    there 01:30 names two instants and a TZID cannot say which, so UTC is written instead."""
    local = instant.astimezone(zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def _event(entry: FeedEntry, uid_domain: str, stamp: datetime) -> Event:
    zone = ZoneInfo(entry.timezone)
    event = Event()
    event.add("uid", booking_uid(entry.booking_id, uid_domain))
    event.add("dtstamp", stamp)
    event.add("last-modified", entry.changed_at)
    event.add("sequence", sequence(entry.changed_at))
    event.add("dtstart", _wall_time(entry.start, zone))
    event.add("dtend", _wall_time(entry.end, zone))
    event.add("summary", entry.summary)
    event.add("location", entry.location)
    event.add("description", entry.description)
    event.add("status", FEED_STATUS[entry.status])
    event.add("transp", "TRANSPARENT" if FEED_STATUS[entry.status] == "CANCELLED" else "OPAQUE")
    return event
