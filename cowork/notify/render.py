"""From an event to words: localized titles, bodies and values (dates in the location's zone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval, format_skeleton
from babel.numbers import format_currency, get_currency_precision

from cowork.domain.notifications import KIND_OF_EVENT, URGENT, refund_cents
from cowork.notify.texts import text
from cowork.store.notify import Place

# Web Push `Topic` (RFC 8030 §5.4) allows 32 base64url characters: one topic per booking, so a
# newer push about it replaces an undelivered older one.
TOPIC_MAX = 32


class Formatter:
    def __init__(self, locale: str, zone: ZoneInfo) -> None:
        self.locale = locale
        self.zone = zone

    def when(self, start: datetime, end: datetime) -> str:
        """`Wed, Jan 1, 10:00-11:00` in the locale's words; both dates when they differ."""
        same_day = start.astimezone(self.zone).date() == end.astimezone(self.zone).date()
        day = format_skeleton("MMMEd", start, tzinfo=self.zone, locale=self.locale)
        if same_day:
            hours = format_interval(start, end, "Hm", tzinfo=self.zone, locale=self.locale)
            return f"{day}, {hours}"
        return f"{day}, {self.time(start)} \u2013 {self.day_time(end)}"

    def time(self, at: datetime) -> str:
        return format_skeleton("Hm", at, tzinfo=self.zone, locale=self.locale)

    def day_time(self, at: datetime) -> str:
        day = format_skeleton("MMMEd", at, tzinfo=self.zone, locale=self.locale)
        return f"{day}, {self.time(at)}"

    def date(self, at: datetime) -> str:
        return format_skeleton("yMMMd", at, tzinfo=self.zone, locale=self.locale)

    def money(self, cents: int, currency: str) -> str:
        digits = get_currency_precision(currency)
        amount = Decimal(cents).scaleb(-digits)
        return format_currency(amount, currency, locale=self.locale)


@dataclass(frozen=True, slots=True)
class BookingEvent:
    """An envelope from a personal subject, parsed."""

    id: int | None
    type: str
    booking_id: int
    space_id: int | None
    location_id: int | None
    start: datetime
    end: datetime
    price_cents: int
    currency: str
    expires_at: datetime | None
    data: dict[str, Any] = field(repr=False)

    @classmethod
    def parse(cls, envelope: dict[str, Any]) -> BookingEvent:
        data = envelope.get("data") or {}
        return cls(
            id=envelope.get("id"),
            type=str(envelope["type"]),
            booking_id=int(data["booking_id"]),
            space_id=data.get("space_id", envelope.get("space_id")),
            location_id=data.get("location_id", envelope.get("location_id")),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            price_cents=int(data.get("price_cents") or 0),
            currency=str(data.get("currency") or "EUR"),
            expires_at=_instant(data.get("expires_at")),
            data=data,
        )

    @property
    def until(self) -> datetime | None:
        """The instant the event's call to action runs out (hold expiry, check-in close …)."""
        if self.type == "booking.expiring":
            return self.expires_at
        return _instant(self.data.get("until"))

    def refund(self) -> tuple[int, str] | None:
        """(cents, currency) the member gets back, when the event says."""
        if self.type == "booking.refunded" and self.data.get("amount_cents"):
            return int(self.data["amount_cents"]), str(
                self.data.get("refund_currency") or self.currency
            )
        percent = self.data.get("refund_percent")
        if self.type == "booking.cancelled" and percent and self.price_cents > 0:
            return refund_cents(self.price_cents, int(percent)), self.currency
        return None


def values(event: BookingEvent, place: Place | None, fmt: Formatter) -> dict[str, object]:
    """Everything a text may name about this event."""
    refund = event.refund()
    until = event.until
    return {
        "space": place.space_name if place and place.space_name else f"#{event.space_id}",
        "location": place.location_name if place else "",
        "when": fmt.when(event.start, event.end),
        "until": fmt.time(until) if until else "",
        "amount": fmt.money(*refund) if refund else "",
        "percent": event.data.get("refund_percent") or 0,
        "minutes": event.data.get("lead_minutes") or 0,
        "booking": event.booking_id,
    }


@dataclass(frozen=True, slots=True)
class PushMessage:
    title: str
    body: str
    data: dict[str, Any]
    topic: str
    urgent: bool
    ttl: int


def render_push(
    event: BookingEvent,
    place: Place | None,
    locale: str,
    *,
    public_url: str,
    now: datetime,
    stale_at: datetime | None,
    default_ttl: int,
) -> PushMessage:
    fmt = Formatter(locale, zone_of(place))
    v = values(event, place, fmt)
    body_key = f"{event.type}.body"
    if event.type == "booking.cancelled" and v["amount"]:
        body_key = "booking.cancelled.refund"
    title, body = text(locale, f"{event.type}.title", **v), text(locale, body_key, **v)
    ttl = default_ttl
    if stale_at is not None:
        ttl = max(0, min(default_ttl, int((stale_at - now).total_seconds())))
    kind = KIND_OF_EVENT.get(event.type)
    return PushMessage(
        title=title,
        body=body,
        data={
            "type": event.type,
            "event_id": event.id,
            "booking_id": event.booking_id,
            "title": title,
            "body": body,
            "url": f"{public_url}/#booking={event.booking_id}",
            "tag": f"booking-{event.booking_id}",
        },
        topic=f"booking-{event.booking_id}"[:TOPIC_MAX],
        urgent=kind in URGENT,
        ttl=ttl,
    )


def zone_of(place: Place | None) -> ZoneInfo:
    try:
        return ZoneInfo(place.timezone) if place else ZoneInfo("UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _instant(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
