"""Events are rows: written in the same transaction as the change they describe.

A booking change produces a public event (space status, no personal data) on
`cowork.loc.{location}.space.{space}.{type}` and a personal one on `cowork.user.{user}.{type}`,
plus a stored notification for the member. The outbox relay publishes rows after commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.public_events import public_view
from cowork.store.sql import Script

EVENT_VERSION = 1

NOTIFICATION_TITLES = {
    "booking.held": "Booking held",
    "booking.confirmed": "Booking confirmed",
    "booking.expiring": "Your hold is about to expire",
    "booking.reminder": "Your booking starts soon",
    "booking.check_in_open": "Check-in is open",
    "booking.expired": "Hold expired",
    "booking.cancelled": "Booking cancelled",
    "booking.refunded": "Refund issued",
    "booking.no_show": "Marked as no-show",
    "booking.rescheduled": "Booking rescheduled",
    "booking.checked_in": "Checked in",
    "booking.completed": "Booking completed",
    "booking.pending_approval": "Booking request sent for approval",
    "booking.approved": "Booking request approved",
    "booking.declined": "Booking request declined",
    "waitlist.offer": "A slot you waited for is yours to take",
    "series.created": "Recurring booking made",
    "series.cancelled": "Recurring booking cancelled",
}


def public_subject(location_id: int, space_id: int, event_type: str) -> str:
    return f"cowork.loc.{location_id}.space.{space_id}.{event_type}"


def user_subject(user_id: int, event_type: str) -> str:
    return f"cowork.user.{user_id}.{event_type}"


def location_subject(location_id: int, event_type: str) -> str:
    return f"cowork.loc.{location_id}.location.{event_type}"


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What events say about a booking; the public part carries no personal data."""

    id: int
    space_id: int
    location_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    price_cents: int
    currency: str
    expires_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "booking_id": self.id,
            "space_id": self.space_id,
            "start": self.starts_at.isoformat(),
            "end": self.ends_at.isoformat(),
            "status": self.status,
        }

    def personal(self) -> dict[str, Any]:
        return {
            **self.public(),
            "location_id": self.location_id,
            "price_cents": self.price_cents,
            "currency": self.currency,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True, slots=True)
class OutboxRow:
    subject: str
    type: str
    location_id: int
    space_id: int | None
    user_id: int | None
    payload: str  # JSON


@dataclass(frozen=True, slots=True)
class NotificationRow:
    user_id: int
    booking_id: int | None
    type: str
    title: str
    data: str  # JSON


@dataclass(slots=True)
class EventRows:
    """The outbox rows and stored notifications of one or more changes, in order."""

    outbox: list[OutboxRow] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)

    def extend(self, other: EventRows) -> None:
        self.outbox += other.outbox
        self.notifications += other.notifications


# Written from arrays, so one statement (and one prepared plan) serves one row or a thousand.
_OUTBOX = (
    "INSERT INTO outbox (subject, type, location_id, space_id, user_id, payload) "
    "SELECT s, t, l, sp, u, p::jsonb FROM unnest(?::text[], ?::text[], ?::int[], ?::int[], "
    "?::int[], ?::text[]) AS x(s, t, l, sp, u, p)"
)
_NOTIFICATIONS = (
    "INSERT INTO notifications (user_id, booking_id, type, title, body, data) "
    "SELECT u, b, t, ti, '', d::jsonb FROM unnest(?::int[], ?::bigint[], ?::text[], ?::text[], "
    "?::text[]) AS x(u, b, t, ti, d)"
)


def add_event_rows(script: Script, rows: EventRows) -> None:
    """Add the statements writing `rows` (two parts, whatever their number)."""
    o, n = rows.outbox, rows.notifications
    script.add(
        _OUTBOX,
        [r.subject for r in o],
        [r.type for r in o],
        [r.location_id for r in o],
        [r.space_id for r in o],
        [r.user_id for r in o],
        [r.payload for r in o],
    )
    if n:
        script.add(
            _NOTIFICATIONS,
            [r.user_id for r in n],
            [r.booking_id for r in n],
            [r.type for r in n],
            [r.title for r in n],
            [r.data for r in n],
        )


def booking_event_rows(
    event_type: str,
    booking: BookingFacts,
    *,
    personal_type: str | None = None,
    personal: bool = True,
    **extra: Any,
) -> EventRows:
    """The public and personal outbox rows (and the notification) of one change.

    `personal_type` tells the member in other words than the public (a waitlist offer is a
    `booking.held` slot to the world); `personal=False` leaves the member's rows out (an
    occurrence of a series: the member hears of the series once).
    """
    rows = EventRows()
    full = {**booking.personal(), **extra}
    public = public_view(event_type, full)
    where = (booking.location_id, booking.space_id)
    if public is not None:
        subject = public_subject(*where, event_type)
        rows.outbox.append(OutboxRow(subject, event_type, *where, None, json.dumps(public)))
    if personal:
        kind = personal_type or event_type
        _personal_rows(rows, kind, booking.user_id, booking.id, where, full)
    return rows


def _personal_rows(
    rows: EventRows,
    event_type: str,
    user_id: int,
    booking_id: int | None,
    where: tuple[int, int],
    data: dict[str, Any],
) -> None:
    """The member's own outbox row (and stored notification, if the type has a title)."""
    payload = json.dumps(data, default=str)
    subject = user_subject(user_id, event_type)
    rows.outbox.append(OutboxRow(subject, event_type, *where, user_id, payload))
    title = NOTIFICATION_TITLES.get(event_type)
    if title is not None:
        rows.notifications.append(NotificationRow(user_id, booking_id, event_type, title, payload))


async def emit_booking_event(
    conn: BaseDBAsyncClient, event_type: str, booking: BookingFacts, **extra: Any
) -> None:
    """Write one change's events in a single statement (inside the caller's transaction)."""
    script = Script()
    add_event_rows(script, booking_event_rows(event_type, booking, **extra))
    await script.run(conn)


_PUBLIC_OUTBOX = (
    "INSERT INTO outbox (subject, type, location_id, space_id, user_id, payload) "
    "VALUES ($1, $2, $3, $4, NULL, $5::jsonb)"
)


async def emit_catalogue_event(
    conn: BaseDBAsyncClient,
    event_type: str,
    location_id: int,
    data: dict[str, Any],
    *,
    space_id: int | None = None,
) -> None:
    """A public change of a location or one of its spaces (hours, closures, a space moved)."""
    subject = (
        public_subject(location_id, space_id, event_type)
        if space_id is not None
        else location_subject(location_id, event_type)
    )
    public = public_view(event_type, data)
    assert public is not None, f"{event_type} is a public event"
    await conn.execute_query(
        _PUBLIC_OUTBOX, [subject, event_type, location_id, space_id, json.dumps(public)]
    )


async def emit_user_event(
    conn: BaseDBAsyncClient,
    event_type: str,
    *,
    user_id: int,
    location_id: int,
    space_id: int,
    data: dict[str, Any],
) -> None:
    """A personal event (and its notification) that is about no single booking: a series.

    Personal-only by decision (`domain.public_events`); public_view refuses undecided types.
    """
    if public_view(event_type, data) is not None:
        raise ValueError(f"{event_type} is not a personal-only event")
    rows = EventRows()
    _personal_rows(rows, event_type, user_id, None, (location_id, space_id), data)
    script = Script()
    add_event_rows(script, rows)
    await script.run(conn)
