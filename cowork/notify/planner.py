"""Which deliveries one event makes: a row per device and per e-mail, each due now, held for
quiet hours, or logged as skipped."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from cowork.domain.notifications import (
    KIND_OF_EVENT,
    Channel,
    Defer,
    Skip,
    decide,
    mail_templates,
    stale_at,
)
from cowork.notify.render import BookingEvent
from cowork.store.notify import Recipient
from cowork.store.notify_log import NewDelivery

EMAIL = "email"


def device_target(device_id: int) -> str:
    return f"device:{device_id}"


def email_target(template: str) -> str:
    return f"email:{template}"


def plan_deliveries(
    event: BookingEvent,
    recipient: Recipient,
    now: datetime,
    zone: ZoneInfo,
    channels: Collection[str],
) -> list[NewDelivery]:
    """The rows to log for `event` (empty for event types that notify nobody)."""
    kind = KIND_OF_EVENT.get(event.type)
    if kind is None or not recipient.active:
        return []
    prefs = recipient.prefs
    stale = stale_at(event.type, start=event.start, end=event.end, until=event.until)
    rows: list[NewDelivery] = []
    for device in recipient.devices:
        target = device_target(device.id)
        if device.kind not in channels:
            rows.append(NewDelivery(target, device.kind, device.id, now, skipped="channel_off"))
            continue
        decision = decide(kind, Channel.PUSH, prefs, now, zone, stale)
        if isinstance(decision, Skip):
            rows.append(NewDelivery(target, device.kind, device.id, now, skipped=decision.reason))
        else:
            due = decision.until if isinstance(decision, Defer) else now
            rows.append(NewDelivery(target, device.kind, device.id, due, stale))
    templates = mail_templates(event.type, event.price_cents)
    if EMAIL not in channels or not recipient.email:
        return rows
    # A hold reminder is useless once the hold is gone; other e-mails are records: no expiry.
    mail_stale = event.until if event.type == "booking.expiring" else None
    for template in templates:
        target = email_target(template.value)
        decision = decide(kind, Channel.EMAIL, prefs, now, zone, mail_stale)
        if isinstance(decision, Skip):
            rows.append(NewDelivery(target, EMAIL, None, now, skipped=decision.reason))
        else:
            rows.append(NewDelivery(target, EMAIL, None, now, mail_stale))
    return rows
