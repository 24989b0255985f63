"""Paying a series up front: one PaymentIntent, one payments row per occurrence it pays."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- A series paid up front has one PaymentIntent for several held occurrences. Each occurrence
-- still has its own payments row (its price, refunded_cents, status), so refunds, reports and
-- the cancellation policy stay per booking; the rows of one intent share series_id. An
-- occurrence is never in two payments (booking_id stays unique), and an intent of a single
-- booking still names exactly one row.
ALTER TABLE "payments" ADD COLUMN IF NOT EXISTS "series_id" BIGINT
    REFERENCES "booking_series" ("id") ON DELETE RESTRICT;
ALTER TABLE "payments" DROP CONSTRAINT IF EXISTS "payments_stripe_payment_intent_id_key";
CREATE INDEX IF NOT EXISTS "payments_intent" ON "payments" ("stripe_payment_intent_id");
CREATE UNIQUE INDEX IF NOT EXISTS "payments_intent_single" ON "payments"
    ("stripe_payment_intent_id") WHERE "series_id" IS NULL;
CREATE INDEX IF NOT EXISTS "payments_series" ON "payments" ("series_id")
    WHERE "series_id" IS NOT NULL;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "payments_series";
DROP INDEX IF EXISTS "payments_intent_single";
DROP INDEX IF EXISTS "payments_intent";
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM "payments" WHERE "series_id" IS NOT NULL) THEN
        RAISE EXCEPTION 'series payments exist: going back would lose money records';
    END IF;
END $$;
ALTER TABLE "payments" ADD CONSTRAINT "payments_stripe_payment_intent_id_key"
    UNIQUE ("stripe_payment_intent_id");
ALTER TABLE "payments" DROP COLUMN IF EXISTS "series_id";
"""
