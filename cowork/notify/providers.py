"""The channels a node can deliver through, built from its settings (unset ones are off)."""

from __future__ import annotations

from cowork.clock import Clock
from cowork.config import ConfigError, Settings
from cowork.notify.apns import ApnsSender
from cowork.notify.channels import PushSender
from cowork.notify.fcm import FcmConfigError, FcmSender, ServiceAccount
from cowork.notify.mailer import Mailer
from cowork.notify.outbound import OutboundGuard, OutboundPolicy
from cowork.notify.vapid import VapidKeyError, load_vapid, public_key_b64
from cowork.notify.webpush import WebPushSender


def push_guard(settings: Settings) -> OutboundGuard:
    """Where Web Push requests may go: public https only in production."""
    return OutboundGuard(OutboundPolicy.for_env(settings.is_production, settings.notify.push_hosts))


def vapid_public_key(settings: Settings) -> str | None:
    """The browsers' `applicationServerKey`, or None when Web Push is off."""
    if not settings.notify.webpush_enabled:
        return None
    return public_key_b64(load_vapid(settings.notify.vapid_private_key))


def build_senders(settings: Settings, clock: Clock) -> list[PushSender]:
    """A sender per configured push provider; a half-configured provider is a ConfigError."""
    n = settings.notify
    senders: list[PushSender] = []
    timeout, connections = n.send_timeout_seconds, n.concurrency
    try:
        if n.webpush_enabled:
            vapid = load_vapid(n.vapid_private_key)
            senders.append(
                WebPushSender(
                    vapid,
                    n.vapid_subject,
                    push_guard(settings),
                    clock,
                    timeout=timeout,
                    connections=connections,
                )
            )
        if n.fcm_enabled:
            account = ServiceAccount.from_file(n.fcm_credentials_file)
            senders.append(
                FcmSender(account, n.fcm_api_base, clock, timeout=timeout, connections=connections)
            )
        if n.apns_enabled:
            senders.append(
                ApnsSender(
                    key_pem=ApnsSender.key_from_file(n.apns_key_file),
                    key_id=n.apns_key_id,
                    team_id=n.apns_team_id,
                    default_topic=n.apns_topic,
                    host=n.apns_host,
                    clock=clock,
                    timeout=timeout,
                    connections=connections,
                )
            )
    except (VapidKeyError, FcmConfigError, OSError) as exc:
        raise ConfigError(str(exc)) from exc
    return senders


def build_mailer(settings: Settings) -> Mailer | None:
    return Mailer(settings.notify) if settings.notify.email_enabled else None
