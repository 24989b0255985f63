"""Realtime: the expiring-soon marker on bookings and the indexes its loops and lists read."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- Set once the "hold about to expire" notice went out, so each hold gets exactly one.
ALTER TABLE "bookings" ADD COLUMN IF NOT EXISTS "expiring_notified_at" TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS "bookings_held_expiring" ON "bookings" ("expires_at")
    WHERE "status" = 'held' AND "expiring_notified_at" IS NULL;
CREATE INDEX IF NOT EXISTS "notifications_user_unread" ON "notifications" ("user_id", "id")
    WHERE "read_at" IS NULL;
CREATE INDEX IF NOT EXISTS "notifications_user_id" ON "notifications" ("user_id", "id");
CREATE INDEX IF NOT EXISTS "kiosk_devices_location" ON "kiosk_devices" ("location_id");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "kiosk_devices_location";
DROP INDEX IF EXISTS "notifications_user_id";
DROP INDEX IF EXISTS "notifications_user_unread";
DROP INDEX IF EXISTS "bookings_held_expiring";
ALTER TABLE "bookings" DROP COLUMN IF EXISTS "expiring_notified_at";
"""
