"""A member's push devices and notification preferences: register, remove, set preferences.

Member self-service on their own devices is not a staff write, so it is not audited (the audit
log records staff actions); the delivery log records what each device received.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from datetime import time

from cryptography.hazmat.primitives.asymmetric import ec
from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.config import Settings
from cowork.domain.errors import InvalidInputError, NotFoundError
from cowork.domain.notifications import Kind, Preferences, QuietHours, normalize_locale
from cowork.domain.problems import Problem
from cowork.notify.outbound import OutboundRefusedError
from cowork.notify.providers import push_guard
from cowork.store import notify as store
from cowork.store.notify import DeviceRow, NewDevice


class PushEndpointRefusedError(InvalidInputError):
    problem = Problem.PUSH_ENDPOINT_REFUSED


class InvalidSubscriptionError(InvalidInputError):
    problem = Problem.INVALID_PUSH_SUBSCRIPTION


class PushChannelOffError(InvalidInputError):
    problem = Problem.PUSH_CHANNEL_NOT_CONFIGURED


class DeviceNotFoundError(NotFoundError):
    problem = Problem.DEVICE_NOT_FOUND


def channel_enabled(settings: Settings, kind: str) -> bool:
    n = settings.notify
    return {"webpush": n.webpush_enabled, "fcm": n.fcm_enabled, "apns": n.apns_enabled}.get(
        kind, False
    )


async def register_device(
    fx: Effects, settings: Settings, user_id: int, device: NewDevice
) -> tuple[DeviceRow, bool]:
    """Store the device, or update the one with the same endpoint/token; (row, created).

    A Web Push endpoint is an address the client chose: it must pass the outbound guard
    (public https in production, checked after DNS resolution) before we ever send to it.
    """
    if not channel_enabled(settings, device.kind):
        raise PushChannelOffError(f"{device.kind} is not configured on this server")
    if device.kind == "webpush":
        _check_keys(device.p256dh or "", device.auth or "")
        try:
            await push_guard(settings).check(device.address)
        except OutboundRefusedError as exc:
            raise PushEndpointRefusedError(exc.detail, reason=exc.reason) from exc
    device = replace(device, locale=normalize_locale(device.locale) if device.locale else None)
    async with in_transaction() as conn:
        return await store.upsert_device(conn, user_id, device)


async def remove_device(fx: Effects, user_id: int, device_id: int) -> DeviceRow:
    async with in_transaction() as conn:
        removed = await store.delete_device(conn, user_id, device_id)
    if removed is None:
        raise DeviceNotFoundError(f"device {device_id} is not one of yours")
    return removed


async def set_preferences(
    fx: Effects,
    user_id: int,
    *,
    push: frozenset[Kind],
    email: frozenset[Kind],
    reminder_lead_minutes: int,
    quiet_hours: tuple[time, time] | None,
    timezone: str | None,
    locale: str,
    urgent_during_quiet_hours: bool,
) -> Preferences:
    """Replace the member's preferences (the domain validates them)."""
    prefs = Preferences(
        push=push,
        email=email,
        reminder_lead_minutes=reminder_lead_minutes,
        quiet_hours=QuietHours(*quiet_hours) if quiet_hours else None,
        timezone=timezone,
        urgent_during_quiet_hours=urgent_during_quiet_hours,
        locale=locale,
    )
    async with in_transaction() as conn:
        await store.put_preferences(conn, user_id, prefs)
    return prefs


def _check_keys(p256dh: str, auth: str) -> None:
    """RFC 8291: p256dh is an uncompressed P-256 point (65 bytes), auth a 16-byte secret."""
    point, secret = _b64url(p256dh), _b64url(auth)
    try:
        if point is None or len(point) != 65:
            raise ValueError("length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise InvalidSubscriptionError(
            "keys.p256dh must be a base64url uncompressed P-256 point"
        ) from exc
    if secret is None or len(secret) != 16:
        raise InvalidSubscriptionError("keys.auth must be 16 bytes, base64url")


def _b64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
