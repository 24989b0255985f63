"""Outgoing webhooks: which events an operator may subscribe to, what each one carries, and when
a failed delivery is tried again, given up, or its endpoint disabled."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType


class Copy(StrEnum):
    """Which of an event's published copies feeds webhooks (each event is sent once)."""

    PERSONAL = "personal"  # cowork.user.{id}.{type}: the booking with its member and money
    PUBLIC = "public"  # cowork.loc.{id}.…: catalogue changes, which have no personal copy


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (or being sent under a lease)
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # given up: the retry window passed, or the endpoint was disabled
    SKIPPED = "skipped"  # the endpoint was disabled when the event came; replayable


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    copy: Copy
    fields: frozenset[str]


# An operator's integration (door lock, accounting) needs who booked and what was paid, but
# never the member's free-text note or the payment provider's internal ids.
_BOOKING = frozenset(
    {
        "booking_id", "space_id", "location_id", "user_id", "start", "end", "status",
        "price_cents", "currency", "expires_at",
    }
)  # fmt: skip
_CANCELLED = _BOOKING | {"reason", "refund_percent", "refund_cents"}
_RESCHEDULED = _BOOKING | {"previous_start", "previous_end"}
_REFUNDED = _BOOKING | {"refund_id", "amount_cents", "refund_currency"}
_SPACE = frozenset(
    {
        "id", "location_id", "name", "type", "capacity", "description", "hourly_price_cents",
        "daily_price_cents", "currency", "is_free", "amenities", "floor", "active",
    }
)  # fmt: skip
_LOCATION = frozenset(
    {
        "location_id", "changed", "id", "name", "city", "address", "timezone", "currency",
        "description", "opening_hours", "floors", "active",
    }
)  # fmt: skip

WEBHOOK_EVENTS: Mapping[str, WebhookEvent] = MappingProxyType(
    {
        "booking.held": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.confirmed": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.checked_in": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.completed": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.cancelled": WebhookEvent(Copy.PERSONAL, _CANCELLED),
        "booking.expired": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.no_show": WebhookEvent(Copy.PERSONAL, _BOOKING),
        "booking.rescheduled": WebhookEvent(Copy.PERSONAL, _RESCHEDULED),
        "booking.refunded": WebhookEvent(Copy.PERSONAL, _REFUNDED),
        "space.updated": WebhookEvent(Copy.PUBLIC, _SPACE),
        "location.updated": WebhookEvent(Copy.PUBLIC, _LOCATION),
    }
)

MAX_EVENTS = len(WEBHOOK_EVENTS)
MAX_LOCATIONS = 100


def unknown_events(events: Collection[str]) -> list[str]:
    """The names in `events` that are not webhook event types (sorted, for the refusal)."""
    return sorted(e for e in set(events) if e not in WEBHOOK_EVENTS)


def webhook_data(
    event_type: str, copy: Copy, payload: Mapping[str, object], *, user_id: int | None
) -> dict[str, object] | None:
    """What an endpoint receives of this copy of an event; None when this copy is not the one
    webhooks are fed from (or the type is not offered)."""
    event = WEBHOOK_EVENTS.get(event_type)
    if event is None or event.copy is not copy:
        return None
    data = {key: value for key, value in payload.items() if key in event.fields}
    if copy is Copy.PERSONAL and user_id is not None:
        data["user_id"] = user_id
    return data


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base * 2^(n-1) after the n-th failure, capped, with up to +20 %
    jitter (so endpoints that failed together do not all come back at once); a delivery is
    given up once the next try would fall after its window."""

    base: timedelta
    cap: timedelta
    window: timedelta

    def delay(self, failures: int, jitter: float) -> timedelta:
        """The wait after `failures` failed attempts (≥ 1); `jitter` in [0, 1)."""
        exponent = min(max(failures, 1) - 1, 30)
        plain: timedelta = min(self.base * (2**exponent), self.cap)
        spread = 1 + 0.2 * min(max(jitter, 0.0), 1.0)
        return plain * spread

    def next_attempt(
        self, failures: int, now: datetime, give_up_at: datetime, jitter: float
    ) -> datetime | None:
        """When to try again after `failures` failures; None: give up."""
        due = now + self.delay(failures, jitter)
        return due if due <= give_up_at else None


def disables_endpoint(last_success_at: datetime | None, retries_began: datetime) -> bool:
    """A delivery was given up: its endpoint is disabled if nothing it was sent succeeded
    while that delivery was being retried (one healthy answer in between keeps a flaky
    endpoint enabled)."""
    return last_success_at is None or last_success_at < retries_began
