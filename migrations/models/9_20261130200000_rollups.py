"""Performance: payments carry their location; hourly booking and daily money rollups per
location, kept by statement triggers in the same transaction as every change."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

# What each booking adds to its location's local start hour (docs/analytics.md defines each
# figure). Holds and requests awaiting approval add nothing, so a storm of holds never touches
# a rollup row; unpaid holds and requests nobody approved are not bookings.
_NOT_A_BOOKING = "('held', 'expired', 'pending_approval', 'declined')"
_BOOKING_DELTA = """
    SELECT r.location_id,
           date_trunc('hour', r.starts_at AT TIME ZONE l.timezone) AS hour,
           {sign} * (r.status NOT IN {NOT_A_BOOKING})::int AS bookings,
           {sign} * (r.status = 'cancelled')::int AS cancelled,
           {sign} * (r.status = 'no_show')::int AS no_shows,
           {sign} * (r.status IN ('checked_in', 'completed', 'no_show'))::int AS started,
           {sign} * (r.status = 'expired')::int AS expired_holds,
           {sign} * CASE WHEN r.status NOT IN {NOT_A_BOOKING}
                 THEN date_part('epoch', r.starts_at - r.created_at) ELSE 0 END AS lead_seconds
    FROM {rows} r JOIN locations l ON l.id = r.location_id
    WHERE r.status NOT IN ('held', 'pending_approval')
""".replace("{NOT_A_BOOKING}", _NOT_A_BOOKING)
# Money moved (cash basis) on the location's local date of the payment's or refund's creation.
_PAYMENT_DELTA = """
    SELECT r.location_id, (r.created_at AT TIME ZONE l.timezone)::date AS day,
           {sign} * CASE WHEN r.status IN ('succeeded', 'partially_refunded', 'refunded')
                 THEN r.amount_cents ELSE 0 END::bigint AS paid_cents,
           0::bigint AS refunded_cents
    FROM {rows} r JOIN locations l ON l.id = r.location_id
"""
_REFUND_DELTA = """
    SELECT p.location_id, (r.created_at AT TIME ZONE l.timezone)::date AS day,
           0::bigint AS paid_cents,
           {sign} * CASE WHEN r.status IN ('queued', 'pending', 'requires_action', 'succeeded')
                 THEN r.amount_cents ELSE 0 END::bigint AS refunded_cents
    FROM {rows} r JOIN payments p ON p.id = r.payment_id JOIN locations l ON l.id = p.location_id
"""
# Deltas are summed per key and applied in key order: concurrent statements lock rollup rows
# in the same order (no deadlock), and a change that moves nothing touches nothing.
_APPLY_HOURS = """
    INSERT INTO location_hours AS h
        (location_id, hour, bookings, cancelled, no_shows, started, expired_holds, lead_seconds)
    SELECT location_id, hour, sum(bookings), sum(cancelled), sum(no_shows), sum(started),
           sum(expired_holds), sum(lead_seconds)
    FROM ({deltas}) d GROUP BY location_id, hour
    HAVING sum(bookings) <> 0 OR sum(cancelled) <> 0 OR sum(no_shows) <> 0
        OR sum(started) <> 0 OR sum(expired_holds) <> 0 OR sum(lead_seconds) <> 0
    ORDER BY location_id, hour
    ON CONFLICT (location_id, hour) DO UPDATE SET
        bookings = h.bookings + EXCLUDED.bookings,
        cancelled = h.cancelled + EXCLUDED.cancelled,
        no_shows = h.no_shows + EXCLUDED.no_shows,
        started = h.started + EXCLUDED.started,
        expired_holds = h.expired_holds + EXCLUDED.expired_holds,
        lead_seconds = h.lead_seconds + EXCLUDED.lead_seconds
"""
_APPLY_MONEY = """
    INSERT INTO location_money_days AS m (location_id, day, paid_cents, refunded_cents)
    SELECT location_id, day, sum(paid_cents), sum(refunded_cents)
    FROM ({deltas}) d GROUP BY location_id, day
    HAVING sum(paid_cents) <> 0 OR sum(refunded_cents) <> 0
    ORDER BY location_id, day
    ON CONFLICT (location_id, day) DO UPDATE SET
        paid_cents = m.paid_cents + EXCLUDED.paid_cents,
        refunded_cents = m.refunded_cents + EXCLUDED.refunded_cents
"""


def _trigger_function(name: str, apply: str, delta: str) -> str:
    """A statement trigger function: old rows subtract, new rows add."""
    both = (
        delta.format(sign="-1", rows="old_rows")
        + " UNION ALL "
        + delta.format(sign="1", rows="new_rows")
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {apply.format(deltas=delta.format(sign="1", rows="new_rows"))};
    ELSIF TG_OP = 'DELETE' THEN
        {apply.format(deltas=delta.format(sign="-1", rows="old_rows"))};
    ELSE
        {apply.format(deltas=both)};
    END IF;
    RETURN NULL;
END $fn$;
"""


def _triggers(table: str, function: str) -> str:
    return f"""
CREATE TRIGGER "{table}_rollup_ins" AFTER INSERT ON "{table}"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER "{table}_rollup_upd" AFTER UPDATE ON "{table}"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER "{table}_rollup_del" AFTER DELETE ON "{table}"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


# Recount one location (or all, with NULL): the backfill, and what a time-zone change needs
# (local hours and dates move with the zone).
_REBUILD = f"""
CREATE OR REPLACE FUNCTION rollups_rebuild(only_location INT) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM location_hours WHERE only_location IS NULL OR location_id = only_location;
    DELETE FROM location_money_days WHERE only_location IS NULL OR location_id = only_location;
    {
    _APPLY_HOURS.format(
        deltas=_BOOKING_DELTA.format(sign="1", rows="bookings")
        + " AND (only_location IS NULL OR r.location_id = only_location)"
    )
};
    {
    _APPLY_MONEY.format(
        deltas=_PAYMENT_DELTA.format(sign="1", rows="payments")
        + " WHERE only_location IS NULL OR r.location_id = only_location"
        + " UNION ALL "
        + _REFUND_DELTA.format(sign="1", rows="refunds")
        + " WHERE only_location IS NULL OR p.location_id = only_location"
    )
};
END $fn$;

CREATE OR REPLACE FUNCTION rollups_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM rollups_rebuild(NEW.id);
    RETURN NULL;
END $fn$;
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    return f"""
-- Payments carry their booking's location from creation on (cash-basis revenue by location
-- without joining bookings). Filled by the database so that no writer can forget it.
ALTER TABLE "payments" ADD COLUMN IF NOT EXISTS "location_id" INT;
UPDATE "payments" p SET "location_id" = b."location_id" FROM "bookings" b
    WHERE b."id" = p."booking_id" AND p."location_id" IS NULL;
ALTER TABLE "payments" ALTER COLUMN "location_id" SET NOT NULL;
CREATE OR REPLACE FUNCTION payments_fill_location() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.location_id IS NULL THEN
        SELECT location_id INTO NEW.location_id FROM bookings WHERE id = NEW.booking_id;
    END IF;
    RETURN NEW;
END $fn$;
CREATE TRIGGER "payments_location" BEFORE INSERT ON "payments"
    FOR EACH ROW EXECUTE FUNCTION payments_fill_location();
CREATE INDEX IF NOT EXISTS "payments_location_created" ON "payments" ("location_id", "created_at");

-- Per location and local start hour: what analytics/overview and analytics/bookings count.
CREATE TABLE IF NOT EXISTS "location_hours" (
    "location_id" INT NOT NULL,
    "hour" TIMESTAMP NOT NULL,
    "bookings" INT NOT NULL DEFAULT 0,
    "cancelled" INT NOT NULL DEFAULT 0,
    "no_shows" INT NOT NULL DEFAULT 0,
    "started" INT NOT NULL DEFAULT 0,
    "expired_holds" INT NOT NULL DEFAULT 0,
    "lead_seconds" DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY ("location_id", "hour")
);
-- Per location and local date: money paid and refunded (cash basis).
CREATE TABLE IF NOT EXISTS "location_money_days" (
    "location_id" INT NOT NULL,
    "day" DATE NOT NULL,
    "paid_cents" BIGINT NOT NULL DEFAULT 0,
    "refunded_cents" BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY ("location_id", "day")
);
{_trigger_function("bookings_rollup", _APPLY_HOURS, _BOOKING_DELTA)}
{_trigger_function("payments_rollup", _APPLY_MONEY, _PAYMENT_DELTA)}
{_trigger_function("refunds_rollup", _APPLY_MONEY, _REFUND_DELTA)}
{_triggers("bookings", "bookings_rollup")}
{_triggers("payments", "payments_rollup")}
{_triggers("refunds", "refunds_rollup")}
{_REBUILD}
CREATE TRIGGER "locations_zone_rollups" AFTER UPDATE OF "timezone" ON "locations"
    FOR EACH ROW WHEN (OLD."timezone" IS DISTINCT FROM NEW."timezone")
    EXECUTE FUNCTION rollups_zone_changed();
SELECT rollups_rebuild(NULL);
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TRIGGER IF EXISTS "locations_zone_rollups" ON "locations";
DROP TRIGGER IF EXISTS "refunds_rollup_ins" ON "refunds";
DROP TRIGGER IF EXISTS "refunds_rollup_upd" ON "refunds";
DROP TRIGGER IF EXISTS "refunds_rollup_del" ON "refunds";
DROP TRIGGER IF EXISTS "payments_rollup_ins" ON "payments";
DROP TRIGGER IF EXISTS "payments_rollup_upd" ON "payments";
DROP TRIGGER IF EXISTS "payments_rollup_del" ON "payments";
DROP TRIGGER IF EXISTS "bookings_rollup_ins" ON "bookings";
DROP TRIGGER IF EXISTS "bookings_rollup_upd" ON "bookings";
DROP TRIGGER IF EXISTS "bookings_rollup_del" ON "bookings";
DROP TRIGGER IF EXISTS "payments_location" ON "payments";
DROP FUNCTION IF EXISTS rollups_zone_changed();
DROP FUNCTION IF EXISTS rollups_rebuild(INT);
DROP FUNCTION IF EXISTS refunds_rollup();
DROP FUNCTION IF EXISTS payments_rollup();
DROP FUNCTION IF EXISTS bookings_rollup();
DROP FUNCTION IF EXISTS payments_fill_location();
DROP TABLE IF EXISTS "location_money_days";
DROP TABLE IF EXISTS "location_hours";
DROP INDEX IF EXISTS "payments_location_created";
ALTER TABLE "payments" DROP COLUMN IF EXISTS "location_id";
"""
