"""Tortoise models of notification delivery: devices, preferences, the delivery log."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from cowork.store.models import User


class PushDevice(Model):
    """A place a member's pushes go: a browser subscription, an FCM or an APNs token."""

    user_id: int
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="push_devices", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)  # webpush | fcm | apns
    # Web Push endpoint URL, FCM registration token or APNs device token; unique per kind.
    address = fields.TextField()
    p256dh = fields.CharField(max_length=128, null=True)
    auth = fields.CharField(max_length=64, null=True)
    topic = fields.CharField(max_length=255, null=True)  # APNs bundle id
    locale = fields.CharField(max_length=8, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "push_devices"
        unique_together = (("kind", "address"),)


class NotificationPreference(Model):
    user_id: int
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User",
        related_name="notification_preference",
        on_delete=fields.CASCADE,
        primary_key=True,
    )
    push_kinds: Any = fields.JSONField(default=list)
    email_kinds: Any = fields.JSONField(default=list)
    reminder_lead_minutes = fields.IntField(default=15)
    quiet_start = fields.TimeField(null=True)
    quiet_end = fields.TimeField(null=True)
    timezone = fields.CharField(max_length=64, null=True)
    locale = fields.CharField(max_length=8, default="en")
    urgent_during_quiet_hours = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_preferences"


class NotifyDelivery(Model):
    """One event to one target (a device or an e-mail): the dedupe key and the delivery log."""

    id = fields.BigIntField(primary_key=True)
    event_key = fields.CharField(max_length=64)
    event_seq = fields.BigIntField(null=True)
    event_type = fields.CharField(max_length=64)
    user_id = fields.IntField()
    target = fields.CharField(max_length=64)
    channel = fields.CharField(max_length=16)
    device_id = fields.IntField(null=True)
    state = fields.CharField(max_length=16, default="pending")
    reason = fields.CharField(max_length=64, null=True)
    attempts = fields.IntField(default=0)
    due_at = fields.DatetimeField()
    stale_at = fields.DatetimeField(null=True)
    lease_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    envelope: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notify_deliveries"
        unique_together = (("event_key", "target"),)
