"""The feed's RFC 5545 text read back by two parsers (icalendar, recurring-ical-events): the
instants must be exactly the bookings', on spring-forward and fall-back nights too."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events

from cowork.integrations.ics import FeedEntry, render_feed

STAMP = datetime(2027, 1, 1, tzinfo=UTC)


def entry(booking_id: int, start: datetime, minutes: int, zone: str) -> FeedEntry:
    return FeedEntry(
        booking_id=booking_id,
        status="confirmed",
        start=start,
        end=start + timedelta(minutes=minutes),
        changed_at=STAMP,
        timezone=zone,
        summary=f"Desk {booking_id}",
        location="Somewhere",
        description="",
    )


def instants_read_back(body: bytes) -> tuple[list, list]:
    cal = icalendar.Calendar.from_ical(body)
    first = sorted(
        (e["dtstart"].dt.astimezone(UTC), e["dtend"].dt.astimezone(UTC)) for e in cal.walk("VEVENT")
    )
    found = recurring_ical_events.of(cal).between(datetime(2027, 1, 1), datetime(2028, 1, 1))
    second = sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)
    return first, second


@pytest.mark.parametrize(
    ("zone", "starts"),
    [
        # New York falls back on 2027-11-07: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
        (
            "America/New_York",
            [datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 30, tzinfo=UTC)],
        ),
        # Rome springs forward on 2027-03-28: 01:30 local then 03:30 local, an hour apart.
        (
            "Europe/Rome",
            [datetime(2027, 3, 28, 0, 30, tzinfo=UTC), datetime(2027, 3, 28, 1, 30, tzinfo=UTC)],
        ),
        # Sydney falls back on 2027-04-04 (southern hemisphere: April).
        (
            "Australia/Sydney",
            [datetime(2027, 4, 3, 15, 30, tzinfo=UTC), datetime(2027, 4, 3, 16, 30, tzinfo=UTC)],
        ),
    ],
)
def test_both_parsers_read_the_exact_instants_across_dst(zone, starts):
    """Fails if a booking in the repeated hour of a fall-back night is written as an
    ambiguous wall time (a calendar would show it an hour off) or any instant shifts."""
    body = render_feed(
        "Feed", [entry(i, s, 30, zone) for i, s in enumerate(starts)], uid_domain="x", stamp=STAMP
    )
    expected = sorted((s, s + timedelta(minutes=30)) for s in starts)
    first, second = instants_read_back(body)
    assert first == expected
    assert second == expected


def test_unambiguous_times_keep_the_location_zone():
    """Fails if ordinary times lose their TZID (apps would convert them to their own zone's
    rules instead of the location's)."""
    start = datetime(2027, 6, 1, 7, tzinfo=UTC)
    body = render_feed("Feed", [entry(1, start, 60, "Europe/Rome")], uid_domain="x", stamp=STAMP)
    assert b"DTSTART;TZID=Europe/Rome:20270601T090000" in body
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Europe/Rome" in body
