"""Notifications: members' push devices, their preferences, and the delivery log (dedupe key)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- Registering the same endpoint or token again updates the row (and may move it to the
-- member now signed in on that device): one row per (kind, address).
CREATE TABLE IF NOT EXISTS "push_devices" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "kind" VARCHAR(16) NOT NULL CHECK ("kind" IN ('webpush', 'fcm', 'apns')),
    "address" TEXT NOT NULL,
    "p256dh" VARCHAR(128),
    "auth" VARCHAR(64),
    "topic" VARCHAR(255),
    "locale" VARCHAR(8),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "last_success_at" TIMESTAMPTZ,
    CONSTRAINT "push_devices_kind_address" UNIQUE ("kind", "address"),
    CONSTRAINT "push_devices_webpush_keys"
        CHECK ("kind" <> 'webpush' OR ("p256dh" IS NOT NULL AND "auth" IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS "push_devices_user" ON "push_devices" ("user_id", "id");

CREATE TABLE IF NOT EXISTS "notification_preferences" (
    "user_id" INT PRIMARY KEY REFERENCES "users" ("id") ON DELETE CASCADE,
    "push_kinds" JSONB NOT NULL DEFAULT '[]',
    "email_kinds" JSONB NOT NULL DEFAULT '[]',
    "reminder_lead_minutes" INT NOT NULL DEFAULT 15,
    "quiet_start" TIME,
    "quiet_end" TIME,
    "timezone" VARCHAR(64),
    "locale" VARCHAR(8) NOT NULL DEFAULT 'en',
    "urgent_during_quiet_hours" BOOLEAN NOT NULL DEFAULT TRUE,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "notification_preferences_quiet"
        CHECK (("quiet_start" IS NULL) = ("quiet_end" IS NULL))
);

-- One row per (event, target): the unique key is what keeps a redelivered event (a node
-- killed between send and ack) from reaching a device twice; the row is also the delivery
-- log (attempts, outcome) and the queue of held (quiet hours) and retried deliveries.
CREATE TABLE IF NOT EXISTS "notify_deliveries" (
    "id" BIGSERIAL PRIMARY KEY,
    "event_key" VARCHAR(64) NOT NULL,
    "event_seq" BIGINT,
    "event_type" VARCHAR(64) NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "target" VARCHAR(64) NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "device_id" INT REFERENCES "push_devices" ("id") ON DELETE SET NULL,
    "state" VARCHAR(16) NOT NULL DEFAULT 'pending'
        CHECK ("state" IN ('pending', 'sent', 'gone', 'failed', 'skipped')),
    "reason" VARCHAR(64),
    "attempts" INT NOT NULL DEFAULT 0,
    "due_at" TIMESTAMPTZ NOT NULL,
    "stale_at" TIMESTAMPTZ,
    "lease_until" TIMESTAMPTZ,
    "claimed_by" VARCHAR(64),
    "last_status" INT,
    "last_error" TEXT,
    "envelope" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "finished_at" TIMESTAMPTZ,
    CONSTRAINT "notify_deliveries_event_target" UNIQUE ("event_key", "target")
);
CREATE INDEX IF NOT EXISTS "notify_deliveries_due" ON "notify_deliveries" ("due_at")
    WHERE "state" = 'pending';
CREATE INDEX IF NOT EXISTS "notify_deliveries_user" ON "notify_deliveries" ("user_id", "id");
CREATE INDEX IF NOT EXISTS "notify_deliveries_finished" ON "notify_deliveries" ("finished_at")
    WHERE "finished_at" IS NOT NULL;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "notify_deliveries";
DROP TABLE IF EXISTS "notification_preferences";
DROP TABLE IF EXISTS "push_devices";
"""
