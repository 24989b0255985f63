"""Integrations: secret calendar feeds (stored hashed) and outgoing webhooks with their log."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- A member's feed of their bookings (space_id NULL) or a staff member's feed of one space.
-- The token is HMAC(feed key, id:nonce): the server can show the URL again, while a copy of
-- this table alone opens nothing (the key derives from JWT_SECRET). Lookup is by its sha256.
CREATE TABLE IF NOT EXISTS "calendar_feeds" (
    "id" SERIAL PRIMARY KEY,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "space_id" INT REFERENCES "spaces" ("id") ON DELETE CASCADE,
    "nonce" VARCHAR(64) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "revoked_at" TIMESTAMPTZ,
    "last_fetched_at" TIMESTAMPTZ
);
-- At most one live feed per member (and per member and space): rotating revokes the old one.
CREATE UNIQUE INDEX IF NOT EXISTS "calendar_feeds_one_live"
    ON "calendar_feeds" ("user_id", COALESCE("space_id", 0)) WHERE "revoked_at" IS NULL;

-- An operator's endpoint. The secret signs deliveries, so it is kept as given (whsec_…).
CREATE TABLE IF NOT EXISTS "webhook_endpoints" (
    "id" SERIAL PRIMARY KEY,
    "owner_id" INT REFERENCES "users" ("id") ON DELETE SET NULL,
    "url" VARCHAR(2048) NOT NULL,
    "description" VARCHAR(200) NOT NULL DEFAULT '',
    "events" VARCHAR(64)[] NOT NULL,
    "location_ids" INT[] NOT NULL,
    "secret" VARCHAR(128) NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT TRUE,
    "disabled_reason" VARCHAR(64),
    "disabled_at" TIMESTAMPTZ,
    -- A delivery given up with no success since its retries began disables the endpoint.
    "last_success_at" TIMESTAMPTZ,
    "failing_since" TIMESTAMPTZ,  -- the first failure since the last success (shown to staff)
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "webhook_endpoints_locations"
    ON "webhook_endpoints" USING gin ("location_ids");

-- One row per (endpoint, event): the unique key makes a redelivered event harmless; the row is
-- the log entry, the retry queue (next_attempt_at) and the exact body that is signed.
CREATE TABLE IF NOT EXISTS "webhook_deliveries" (
    "id" BIGSERIAL PRIMARY KEY,
    "endpoint_id" INT NOT NULL REFERENCES "webhook_endpoints" ("id") ON DELETE CASCADE,
    "message_id" VARCHAR(96) NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,
    "location_id" INT,
    "event_at" TIMESTAMPTZ NOT NULL,
    "payload" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'pending'
        CHECK ("status" IN ('pending', 'succeeded', 'failed', 'skipped')),
    "attempts" INT NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ,
    "give_up_at" TIMESTAMPTZ NOT NULL,
    "last_attempt_at" TIMESTAMPTZ,
    "last_status_code" INT,
    "last_error" VARCHAR(300),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "webhook_deliveries_once" UNIQUE ("endpoint_id", "message_id")
);
CREATE INDEX IF NOT EXISTS "webhook_deliveries_due"
    ON "webhook_deliveries" ("next_attempt_at") WHERE "status" = 'pending';
CREATE INDEX IF NOT EXISTS "webhook_deliveries_log"
    ON "webhook_deliveries" ("endpoint_id", "id");
CREATE INDEX IF NOT EXISTS "webhook_deliveries_event_at"
    ON "webhook_deliveries" ("endpoint_id", "event_at");

-- Every request made, in order: what the receiver answered, or why nothing came back.
CREATE TABLE IF NOT EXISTS "webhook_attempts" (
    "id" BIGSERIAL PRIMARY KEY,
    "delivery_id" BIGINT NOT NULL REFERENCES "webhook_deliveries" ("id") ON DELETE CASCADE,
    "at" TIMESTAMPTZ NOT NULL,
    "status_code" INT,
    "error" VARCHAR(300),
    "duration_ms" INT NOT NULL,
    "node" VARCHAR(64) NOT NULL
);
CREATE INDEX IF NOT EXISTS "webhook_attempts_delivery" ON "webhook_attempts" ("delivery_id", "id");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "webhook_attempts";
DROP TABLE IF EXISTS "webhook_deliveries";
DROP TABLE IF EXISTS "webhook_endpoints";
DROP TABLE IF EXISTS "calendar_feeds";
"""
