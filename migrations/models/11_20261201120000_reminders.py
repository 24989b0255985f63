"""Reminders fired (once per booking, kind and start) and password reset tokens (stored hashed)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- "Starts in N minutes" and "check-in is open" are deadlines derived from the booking (its
-- start), the member's preferred lead and the location's check-in window; a row here says one
-- was fired, written in the transaction of its outbox event. The key includes the start, so a
-- rescheduled booking is reminded of its new time; the primary key makes two nodes firing the
-- same reminder at the same instant write one event.
CREATE TABLE IF NOT EXISTS "booking_reminders" (
    "booking_id" BIGINT NOT NULL REFERENCES "bookings" ("id") ON DELETE CASCADE,
    "kind" VARCHAR(16) NOT NULL CHECK ("kind" IN ('reminder', 'check_in_open')),
    "starts_at" TIMESTAMPTZ NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "fired_at" TIMESTAMPTZ NOT NULL,
    "node_id" VARCHAR(64),
    PRIMARY KEY ("booking_id", "kind", "starts_at")
);
CREATE INDEX IF NOT EXISTS "booking_reminders_starts" ON "booking_reminders" ("starts_at");

-- A password reset: the token is HMAC(reset key, id:nonce), so the delivery worker can put it
-- in the e-mail while a copy of this table alone opens nothing (the key derives from
-- JWT_SECRET). Looked up by its sha256; single use (used_at), short-lived (expires_at).
CREATE TABLE IF NOT EXISTS "password_resets" (
    "id" BIGSERIAL PRIMARY KEY,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "nonce" VARCHAR(64) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "password_resets_user" ON "password_resets" ("user_id", "id");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "password_resets";
DROP TABLE IF EXISTS "booking_reminders";
"""
