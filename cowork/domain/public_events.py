"""What the world may see of an event: an explicit whitelist of fields per event type.

Public subjects (`cowork.loc.…`) are streamed to anyone, kiosks and anonymous floor maps
included: they say what happened to a slot or a space, never who (no user ids, e-mails,
people's names, prices paid, reasons or notes). This is the one function that decides;
`tests/unit/domain/test_public_events.py` checks it for every event type.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_SLOT = frozenset({"booking_id", "space_id", "start", "end", "status"})
_SPACE = frozenset(
    {
        "id", "location_id", "name", "type", "capacity", "description", "hourly_price_cents",
        "daily_price_cents", "currency", "is_free", "amenities", "floor", "x", "y", "width",
        "height", "active", "buffer_before_minutes", "buffer_after_minutes", "requires_approval",
    }
)  # fmt: skip
_LOCATION = frozenset(
    {
        "location_id", "changed", "id", "name", "city", "address", "timezone", "currency",
        "description", "opening_hours", "floors", "active",
    }
)  # fmt: skip

PUBLIC_FIELDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "booking.held": _SLOT,
        "booking.confirmed": _SLOT,
        "booking.checked_in": _SLOT,
        "booking.completed": _SLOT,
        "booking.cancelled": _SLOT,
        "booking.expired": _SLOT,
        "booking.no_show": _SLOT,
        "booking.rescheduled": _SLOT | {"previous_start", "previous_end"},
        # Requests needing approval hold their slot; approved or declined, the slot says so.
        "booking.pending_approval": _SLOT,
        "booking.approved": _SLOT,
        "booking.declined": _SLOT,
        "space.updated": _SPACE,
        "location.updated": _LOCATION,
    }
)

# Events only their member sees (money, reminders, their waitlist and series, an operator's
# own integrations): no public row at all. A waitlist offer's slot is announced publicly as
# `booking.held`.
PERSONAL_ONLY = frozenset(
    {
        "booking.refunded",
        "booking.expiring",
        "booking.reminder",
        "booking.check_in_open",
        "waitlist.offer",
        "series.created",
        "series.cancelled",
        "webhook.disabled",
    }
)


class UnknownEventError(ValueError):
    """An event type nobody decided the visibility of: add it to one of the lists above."""


def public_view(event_type: str, payload: Mapping[str, object]) -> dict[str, object] | None:
    """The fields of `payload` the public may see; None for a personal-only event."""
    if event_type in PERSONAL_ONLY:
        return None
    allowed = PUBLIC_FIELDS.get(event_type)
    if allowed is None:
        raise UnknownEventError(event_type)
    return {key: value for key, value in payload.items() if key in allowed}
