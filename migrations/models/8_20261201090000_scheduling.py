"""Scheduling: buffers widen the guarded range, requests pending approval hold their slot,
waitlist entries, recurring series."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- Turnaround per space (cleaning, set-up); each booking keeps the buffers it was made with,
-- so a later change of the space never makes an existing booking overlap another.
ALTER TABLE "spaces" ADD COLUMN IF NOT EXISTS "buffer_before_minutes" INT NOT NULL DEFAULT 0;
ALTER TABLE "spaces" ADD COLUMN IF NOT EXISTS "buffer_after_minutes" INT NOT NULL DEFAULT 0;
ALTER TABLE "spaces" ADD COLUMN IF NOT EXISTS "requires_approval" BOOL NOT NULL DEFAULT false;
ALTER TABLE "spaces" ADD CONSTRAINT "spaces_buffers_range" CHECK (
    "buffer_before_minutes" BETWEEN 0 AND 1440 AND "buffer_after_minutes" BETWEEN 0 AND 1440);
ALTER TABLE "bookings" ADD COLUMN IF NOT EXISTS "buffer_before_minutes" INT NOT NULL DEFAULT 0;
ALTER TABLE "bookings" ADD COLUMN IF NOT EXISTS "buffer_after_minutes" INT NOT NULL DEFAULT 0;
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_buffers_range" CHECK (
    "buffer_before_minutes" BETWEEN 0 AND 1440 AND "buffer_after_minutes" BETWEEN 0 AND 1440);

-- The range a booking guards: its slot widened by its buffers. The one SQL spelling of
-- `cowork.domain.buffers.guarded` (tests/integration/test_guard_rule.py keeps them equal).
-- An index expression must be IMMUTABLE, which is true here: whole minutes never depend on
-- the session's time zone (only days and months do). PostgreSQL 16+ says so itself with
-- date_add/date_subtract in a named zone, and then inlines the function into the constraint
-- (inserts cost about what the plain tstzrange did); older servers get the same arithmetic
-- written with operators PostgreSQL only calls STABLE (not inlined: slower, still exact).
DO $migration$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        CREATE OR REPLACE FUNCTION "booking_guard"(
            starts TIMESTAMPTZ, ends TIMESTAMPTZ, before_minutes INT, after_minutes INT
        ) RETURNS TSTZRANGE LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
            SELECT tstzrange(date_subtract(starts, make_interval(mins => before_minutes), 'UTC'),
                             date_add(ends, make_interval(mins => after_minutes), 'UTC'), '[)')
        $fn$;
    ELSE
        CREATE OR REPLACE FUNCTION "booking_guard"(
            starts TIMESTAMPTZ, ends TIMESTAMPTZ, before_minutes INT, after_minutes INT
        ) RETURNS TSTZRANGE LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
            SELECT tstzrange(starts - make_interval(mins => before_minutes),
                             ends + make_interval(mins => after_minutes), '[)')
        $fn$;
    END IF;
END
$migration$;

-- PostgreSQL stays the arbiter, now of guarded ranges: a booking ending at 10:00 with 15
-- minutes after blocks 10:00-10:15 whatever node writes. A request pending approval holds
-- its slot like a hold does.
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_no_overlap";
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap" EXCLUDE USING gist (
    "space_id" WITH =,
    booking_guard("starts_at", "ends_at", "buffer_before_minutes", "buffer_after_minutes") WITH &&
) WHERE ("status" IN ('held', 'confirmed', 'checked_in', 'pending_approval'));
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_status_known";
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_status_known" CHECK ("status" IN
    ('held', 'confirmed', 'checked_in', 'completed', 'cancelled', 'expired', 'no_show',
     'pending_approval', 'declined'));

-- Recurring series: the rule as the member gave it, in the location's wall-clock time.
CREATE TABLE IF NOT EXISTS "booking_series" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "space_id" INT NOT NULL REFERENCES "spaces" ("id") ON DELETE RESTRICT,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "rrule" VARCHAR(255) NOT NULL,
    "first_date" DATE NOT NULL,
    "start_time" TIME NOT NULL,
    "duration_minutes" INT NOT NULL CHECK ("duration_minutes" > 0),
    "timezone" VARCHAR(64) NOT NULL,
    "mode" VARCHAR(16) NOT NULL CHECK ("mode" IN ('all_or_nothing', 'book_available')),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "booking_series_user" ON "booking_series" ("user_id", "id");
ALTER TABLE "bookings" ADD COLUMN IF NOT EXISTS "series_id" BIGINT
    REFERENCES "booking_series" ("id") ON DELETE RESTRICT;
CREATE INDEX IF NOT EXISTS "bookings_series" ON "bookings" ("series_id", "starts_at")
    WHERE "series_id" IS NOT NULL;

-- Waitlist: FIFO by id per space. What became of an offer is its booking's status.
CREATE TABLE IF NOT EXISTS "waitlist_entries" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "space_id" INT NOT NULL REFERENCES "spaces" ("id") ON DELETE RESTRICT,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "starts_at" TIMESTAMPTZ NOT NULL,
    "ends_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'waiting'
        CHECK ("status" IN ('waiting', 'offered', 'left')),
    "booking_id" BIGINT REFERENCES "bookings" ("id") ON DELETE RESTRICT,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "waitlist_time_order" CHECK ("ends_at" > "starts_at"),
    CONSTRAINT "waitlist_offer_names_booking" CHECK ("status" <> 'offered' OR "booking_id" IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS "waitlist_waiting" ON "waitlist_entries" ("space_id", "id")
    WHERE "status" = 'waiting';
CREATE INDEX IF NOT EXISTS "waitlist_user" ON "waitlist_entries" ("user_id", "id");
CREATE UNIQUE INDEX IF NOT EXISTS "waitlist_once" ON "waitlist_entries"
    ("space_id", "user_id", "starts_at", "ends_at") WHERE "status" = 'waiting';

-- Managers list the requests awaiting their decision.
CREATE INDEX IF NOT EXISTS "bookings_pending_approval" ON "bookings" ("location_id", "id")
    WHERE "status" = 'pending_approval';
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP INDEX IF EXISTS "bookings_pending_approval";
DROP TABLE IF EXISTS "waitlist_entries";
DROP INDEX IF EXISTS "bookings_series";
ALTER TABLE "bookings" DROP COLUMN IF EXISTS "series_id";
DROP TABLE IF EXISTS "booking_series";
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_status_known";
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_status_known" CHECK ("status" IN
    ('held', 'confirmed', 'checked_in', 'completed', 'cancelled', 'expired', 'no_show'));
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_no_overlap";
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap"
    EXCLUDE USING gist ("space_id" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&)
    WHERE ("status" IN ('held', 'confirmed', 'checked_in'));
DROP FUNCTION IF EXISTS "booking_guard"(TIMESTAMPTZ, TIMESTAMPTZ, INT, INT);
ALTER TABLE "bookings" DROP CONSTRAINT IF EXISTS "bookings_buffers_range";
ALTER TABLE "bookings" DROP COLUMN IF EXISTS "buffer_after_minutes";
ALTER TABLE "bookings" DROP COLUMN IF EXISTS "buffer_before_minutes";
ALTER TABLE "spaces" DROP CONSTRAINT IF EXISTS "spaces_buffers_range";
ALTER TABLE "spaces" DROP COLUMN IF EXISTS "requires_approval";
ALTER TABLE "spaces" DROP COLUMN IF EXISTS "buffer_after_minutes";
ALTER TABLE "spaces" DROP COLUMN IF EXISTS "buffer_before_minutes";
"""
