"""Payments: one payment per booking, refunds that can wait for Stripe (queued + retried)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- One PaymentIntent per booking: concurrent "pay" requests converge on one row.
DROP INDEX IF EXISTS "payments_booking";
CREATE UNIQUE INDEX IF NOT EXISTS "payments_booking_unique" ON "payments" ("booking_id");
CREATE INDEX IF NOT EXISTS "payments_user" ON "payments" ("user_id", "id");
ALTER TABLE "payments" ADD CONSTRAINT "payments_amount_pos" CHECK ("amount_cents" > 0);
ALTER TABLE "payments" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "payments" ALTER COLUMN "updated_at" SET DEFAULT now();
ALTER TABLE "payments" ALTER COLUMN "refunded_cents" SET DEFAULT 0;
ALTER TABLE "payments" ALTER COLUMN "client_secret" SET DEFAULT '';
ALTER TABLE "payments" ALTER COLUMN "status" SET DEFAULT 'requires_payment';

-- A refund row is written before Stripe is called (status 'queued', no Stripe id yet), so a
-- Stripe outage or a crash leaves a row the retry loop finishes with the same idempotency key.
ALTER TABLE "refunds" ALTER COLUMN "stripe_refund_id" DROP NOT NULL;
ALTER TABLE "refunds" ADD COLUMN IF NOT EXISTS "idempotency_key" VARCHAR(255);
ALTER TABLE "refunds" ADD COLUMN IF NOT EXISTS "attempts" INT NOT NULL DEFAULT 0;
ALTER TABLE "refunds" ADD COLUMN IF NOT EXISTS "next_attempt_at" TIMESTAMPTZ;
ALTER TABLE "refunds" ADD COLUMN IF NOT EXISTS "last_error" TEXT;
ALTER TABLE "refunds" ADD COLUMN IF NOT EXISTS "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE "refunds" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "refunds" ALTER COLUMN "reason" SET DEFAULT '';
ALTER TABLE "refunds" ALTER COLUMN "status" SET DEFAULT 'queued';
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_amount_pos" CHECK ("amount_cents" > 0);
CREATE UNIQUE INDEX IF NOT EXISTS "refunds_idempotency_key" ON "refunds" ("idempotency_key");
CREATE INDEX IF NOT EXISTS "refunds_payment" ON "refunds" ("payment_id");
CREATE INDEX IF NOT EXISTS "refunds_queued" ON "refunds" ("next_attempt_at")
    WHERE "status" = 'queued';
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "refunds_queued";
DROP INDEX IF EXISTS "refunds_payment";
DROP INDEX IF EXISTS "refunds_idempotency_key";
ALTER TABLE "refunds" DROP CONSTRAINT IF EXISTS "refunds_amount_pos";
ALTER TABLE "refunds" DROP COLUMN IF EXISTS "updated_at";
ALTER TABLE "refunds" DROP COLUMN IF EXISTS "last_error";
ALTER TABLE "refunds" DROP COLUMN IF EXISTS "next_attempt_at";
ALTER TABLE "refunds" DROP COLUMN IF EXISTS "attempts";
ALTER TABLE "refunds" DROP COLUMN IF EXISTS "idempotency_key";
ALTER TABLE "payments" DROP CONSTRAINT IF EXISTS "payments_amount_pos";
DROP INDEX IF EXISTS "payments_user";
DROP INDEX IF EXISTS "payments_booking_unique";
CREATE INDEX IF NOT EXISTS "payments_booking" ON "payments" ("booking_id");
"""
