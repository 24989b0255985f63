"""Rules the ORM cannot express: the no-double-booking constraint, checks, defaults, indexes."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- PostgreSQL is the arbiter: two live bookings of one space can never overlap ([) ranges).
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap"
    EXCLUDE USING gist ("space_id" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&)
    WHERE ("status" IN ('held', 'confirmed', 'checked_in'));
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_time_order" CHECK ("ends_at" > "starts_at");
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_status_known" CHECK ("status" IN
    ('held', 'confirmed', 'checked_in', 'completed', 'cancelled', 'expired', 'no_show'));
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_price_nonneg" CHECK ("price_cents" >= 0);
ALTER TABLE "spaces" ADD CONSTRAINT "spaces_prices_nonneg"
    CHECK ("hourly_price_cents" >= 0 AND ("daily_price_cents" IS NULL OR "daily_price_cents" >= 0));
ALTER TABLE "spaces" ADD CONSTRAINT "spaces_capacity_pos" CHECK ("capacity" > 0);
ALTER TABLE "closures" ADD CONSTRAINT "closures_order" CHECK ("end_date" >= "start_date");
ALTER TABLE "payments" ADD CONSTRAINT "payments_refund_bounds"
    CHECK ("refunded_cents" >= 0 AND "refunded_cents" <= "amount_cents");
ALTER TABLE "users" ADD CONSTRAINT "users_role_known" CHECK ("role" IN ('member', 'manager', 'admin'));

-- Raw-SQL write paths (actors, relay) rely on these defaults.
ALTER TABLE "bookings" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "bookings" ALTER COLUMN "updated_at" SET DEFAULT now();
ALTER TABLE "outbox" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "notifications" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "idempotency_keys" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "stripe_events" ALTER COLUMN "received_at" SET DEFAULT now();
ALTER TABLE "audit_log" ALTER COLUMN "at" SET DEFAULT now();

CREATE INDEX "bookings_deadline" ON "bookings" ("deadline_at") WHERE "deadline_at" IS NOT NULL;
CREATE INDEX "bookings_status_starts" ON "bookings" ("status", "starts_at");
CREATE INDEX "outbox_unpublished" ON "outbox" ("id") WHERE "published_at" IS NULL;
CREATE INDEX "idempotency_expiry" ON "idempotency_keys" ("expires_at");
CREATE INDEX "payments_booking" ON "payments" ("booking_id");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "payments_booking";
DROP INDEX IF EXISTS "idempotency_expiry";
DROP INDEX IF EXISTS "outbox_unpublished";
DROP INDEX IF EXISTS "bookings_status_starts";
DROP INDEX IF EXISTS "bookings_deadline";
ALTER TABLE "users" DROP CONSTRAINT IF EXISTS "users_role_known";
ALTER TABLE "payments" DROP CONSTRAINT IF EXISTS "payments_refund_bounds";
ALTER TABLE "closures" DROP CONSTRAINT IF EXISTS "closures_order";
ALTER TABLE "spaces" DROP CONSTRAINT IF EXISTS "spaces_capacity_pos";
ALTER TABLE "spaces" DROP CONSTRAINT IF EXISTS "spaces_prices_nonneg";
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_price_nonneg";
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_status_known";
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_time_order";
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_no_overlap";
"""
