"""What the API needs from notifications without loading the senders: the push guard, the
VAPID public key, which push services are on."""

from __future__ import annotations

from cowork.config import Settings
from cowork.notify.outbound import OutboundGuard, OutboundPolicy
from cowork.notify.vapid import load_vapid, public_key_b64


def push_guard(settings: Settings) -> OutboundGuard:
    """Where Web Push requests may go: public https only in production."""
    return OutboundGuard(OutboundPolicy.for_env(settings.is_production, settings.notify.push_hosts))


def vapid_public_key(settings: Settings) -> str | None:
    """The browsers' `applicationServerKey`, or None when Web Push is off."""
    if not settings.notify.webpush_enabled:
        return None
    return public_key_b64(load_vapid(settings.notify.vapid_private_key))


def channel_enabled(settings: Settings, kind: str) -> bool:
    """Does this node deliver to devices of `kind` (webpush, fcm, apns)?"""
    n = settings.notify
    return {"webpush": n.webpush_enabled, "fcm": n.fcm_enabled, "apns": n.apns_enabled}.get(
        kind, False
    )
