"""Tortoise models. The schema itself is owned by migrations/ (aerich); these map it."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Timestamped(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class User(Timestamped):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    name = fields.CharField(max_length=120)
    role = fields.CharField(max_length=16, default="member", db_index=True)
    is_active = fields.BooleanField(default=True)
    auth_epoch = fields.IntField(default=0)  # bumped when existing tokens must stop working
    stripe_customer_id = fields.CharField(max_length=64, null=True)
    managed_locations: fields.ManyToManyRelation[Location] = fields.ManyToManyField(
        "models.Location", related_name="managers", through="location_manager"
    )

    class Meta:
        table = "users"


class Location(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=160)
    city = fields.CharField(max_length=120, db_index=True)
    address = fields.CharField(max_length=255)
    timezone = fields.CharField(max_length=64)
    currency = fields.CharField(max_length=3, default="EUR")
    description = fields.TextField(default="")
    opening_hours: Any = fields.JSONField(default=dict)
    cancellation_policy: Any = fields.JSONField(default=list)
    booking_rules: Any = fields.JSONField(default=dict)
    floors: Any = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "locations"


class Closure(Model):
    id = fields.IntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="closures", on_delete=fields.CASCADE
    )
    start_date = fields.DateField()
    end_date = fields.DateField()
    reason = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "closures"


class Amenity(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=120)

    class Meta:
        table = "amenities"


class Space(Timestamped):
    id = fields.IntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="spaces", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=120)
    type = fields.CharField(max_length=32, db_index=True)
    capacity = fields.IntField(default=1)
    hourly_price_cents = fields.IntField(default=0)
    daily_price_cents = fields.IntField(null=True)
    description = fields.TextField(default="")
    floor = fields.IntField(default=0)
    x = fields.IntField(default=0)
    y = fields.IntField(default=0)
    width = fields.IntField(default=1)
    height = fields.IntField(default=1)
    active = fields.BooleanField(default=True)
    # Turnaround around each booking (cleaning, set-up); requests need a manager's approval.
    buffer_before_minutes = fields.IntField(default=0)
    buffer_after_minutes = fields.IntField(default=0)
    requires_approval = fields.BooleanField(default=False)
    amenities: fields.ManyToManyRelation[Amenity] = fields.ManyToManyField(
        "models.Amenity", related_name="spaces", through="space_amenity"
    )

    class Meta:
        table = "spaces"


class Booking(Timestamped):
    space_id: int
    location_id: int
    user_id: int
    id = fields.BigIntField(primary_key=True)
    space: fields.ForeignKeyRelation[Space] = fields.ForeignKeyField(
        "models.Space", related_name="bookings", on_delete=fields.RESTRICT
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="bookings", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="bookings", on_delete=fields.RESTRICT
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharField(max_length=16)
    price_cents = fields.IntField()
    currency = fields.CharField(max_length=3)
    expires_at = fields.DatetimeField(null=True)
    # The next instant the timer must act on this booking (hold expiry, no-show, completion).
    deadline_at = fields.DatetimeField(null=True)
    checked_in_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=32, null=True)
    cancel_note = fields.CharField(max_length=200, null=True)
    expiring_notified_at = fields.DatetimeField(null=True)
    # The turnaround this booking was made with: the range it guards (migration 8).
    buffer_before_minutes = fields.IntField(default=0)
    buffer_after_minutes = fields.IntField(default=0)
    series_id = fields.BigIntField(null=True)

    class Meta:
        table = "bookings"
        indexes = (
            ("space_id", "starts_at"),
            ("user_id", "starts_at"),
            ("location_id", "starts_at"),
        )


class BookingSeries(Model):
    id = fields.BigIntField(primary_key=True)
    space_id = fields.IntField()
    location_id = fields.IntField()
    user_id = fields.IntField()
    rrule = fields.CharField(max_length=255)
    first_date = fields.DateField()
    start_time = fields.TimeField()
    duration_minutes = fields.IntField()
    timezone = fields.CharField(max_length=64)
    mode = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "booking_series"


class WaitlistEntry(Model):
    id = fields.BigIntField(primary_key=True)
    space_id = fields.IntField()
    location_id = fields.IntField()
    user_id = fields.IntField()
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="waiting")
    booking_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "waitlist_entries"


class Payment(Timestamped):
    id = fields.IntField(primary_key=True)
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="payments", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="payments", on_delete=fields.RESTRICT
    )
    # One row per booking; a series paid up front shares one intent over its occurrences' rows.
    stripe_payment_intent_id = fields.CharField(max_length=128, db_index=True)
    series_id = fields.BigIntField(null=True)
    client_secret = fields.CharField(max_length=255, default="")
    amount_cents = fields.IntField()
    refunded_cents = fields.IntField(default=0)
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=32, default="requires_payment")

    class Meta:
        table = "payments"


class Refund(Model):
    id = fields.IntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    stripe_refund_id = fields.CharField(max_length=128, unique=True, null=True)
    idempotency_key = fields.CharField(max_length=255, unique=True, null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    amount_cents = fields.IntField()
    reason = fields.CharField(max_length=255, default="")
    status = fields.CharField(max_length=32, default="pending")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refunds_made", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refunds"


class StripeEvent(Model):
    id = fields.CharField(max_length=128, primary_key=True)
    type = fields.CharField(max_length=128)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stripe_events"


class Outbox(Model):
    id = fields.BigIntField(primary_key=True)
    subject = fields.CharField(max_length=255)
    type = fields.CharField(max_length=64)
    location_id = fields.IntField(null=True)
    space_id = fields.IntField(null=True)
    user_id = fields.IntField(null=True)
    payload: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"


class RefreshToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    family_id = fields.UUIDField(db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_tokens"


class KioskDevice(Model):
    id = fields.IntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="kiosks", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=120)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="kiosks_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "kiosk_devices"


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    booking_id = fields.BigIntField(null=True)
    type = fields.CharField(max_length=64)
    title = fields.CharField(max_length=255)
    body = fields.TextField(default="")
    data: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("user_id", "created_at"),)


class IdempotencyKey(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = fields.IntField()
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response_status = fields.IntField(null=True)
    response_body: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user_id", "key"),)


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    entity = fields.CharField(max_length=64)
    entity_id = fields.CharField(max_length=64)
    location_id = fields.IntField(null=True)
    before: Any = fields.JSONField(null=True)
    after: Any = fields.JSONField(null=True)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        indexes = (("entity", "entity_id"),)
