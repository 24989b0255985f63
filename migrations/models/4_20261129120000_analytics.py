"""Analytics: indexes for occupancy, cash-basis revenue, expired-hold lists and the audit log."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- Occupancy intersects each location's open intervals with its occupying bookings: a range
-- overlap per open interval, which only a GiST index on the booking's span answers quickly.
CREATE INDEX IF NOT EXISTS "bookings_location_span" ON "bookings"
    USING gist ("location_id", tstzrange("starts_at", "ends_at", '[)'))
    WHERE "status" IN ('confirmed', 'checked_in', 'completed');
-- Counts by location and start read status and created_at too: the same key, covering, so
-- year-long reports are index-only scans. It replaces the plain (location_id, starts_at) index.
CREATE INDEX IF NOT EXISTS "bookings_location_starts" ON "bookings" ("location_id", "starts_at")
    INCLUDE ("status", "created_at");
DROP INDEX IF EXISTS "idx_bookings_locatio_c97231";
-- Revenue and refunds are dated by when the money moved.
CREATE INDEX IF NOT EXISTS "payments_created" ON "payments" ("created_at");
CREATE INDEX IF NOT EXISTS "refunds_created" ON "refunds" ("created_at");
-- admin/expiries: the most recently expired holds.
CREATE INDEX IF NOT EXISTS "bookings_expired_recent" ON "bookings" ("updated_at")
    WHERE "status" = 'expired';
-- admin/audit: a location's entries, newest first.
CREATE INDEX IF NOT EXISTS "audit_log_location" ON "audit_log" ("location_id", "id");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "audit_log_location";
DROP INDEX IF EXISTS "bookings_expired_recent";
DROP INDEX IF EXISTS "refunds_created";
DROP INDEX IF EXISTS "payments_created";
DROP INDEX IF EXISTS "bookings_location_span";
CREATE INDEX IF NOT EXISTS "idx_bookings_locatio_c97231" ON "bookings" ("location_id", "starts_at");
DROP INDEX IF EXISTS "bookings_location_starts";
"""
