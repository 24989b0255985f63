"""The analytics rollups (migration 9) always equal a recount of the rows they summarise.

Writes come in every shape the triggers must follow: multi-row inserts, status changes,
reschedules across hours and days, deletes, payments and refunds changing status, and a
location moving to another time zone. Fault it catches: a change the rollups miss or count
twice (they would drift from the truth, silently, forever).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.usefixtures("orm")

NOT_A_BOOKING = "('held', 'expired', 'pending_approval', 'declined')"
RECOUNT_HOURS = f"""
SELECT r.location_id, date_trunc('hour', r.starts_at AT TIME ZONE l.timezone) AS hour,
       count(*) FILTER (WHERE r.status NOT IN {NOT_A_BOOKING}) AS bookings,
       count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE r.status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE r.status IN ('checked_in', 'completed', 'no_show')) AS started,
       count(*) FILTER (WHERE r.status = 'expired') AS expired_holds,
       coalesce(sum(date_part('epoch', r.starts_at - r.created_at))
                FILTER (WHERE r.status NOT IN {NOT_A_BOOKING}), 0) AS lead_seconds
FROM bookings r JOIN locations l ON l.id = r.location_id
WHERE r.status NOT IN ('held', 'pending_approval') GROUP BY 1, 2
"""
RECOUNT_MONEY = """
SELECT location_id, day, sum(paid) AS paid_cents, sum(refunded) AS refunded_cents FROM (
  SELECT p.location_id, (p.created_at AT TIME ZONE l.timezone)::date AS day,
         CASE WHEN p.status IN ('succeeded', 'partially_refunded', 'refunded')
              THEN p.amount_cents ELSE 0 END AS paid, 0 AS refunded
  FROM payments p JOIN locations l ON l.id = p.location_id
  UNION ALL
  SELECT p.location_id, (r.created_at AT TIME ZONE l.timezone)::date,
         0, CASE WHEN r.status IN ('queued', 'pending', 'requires_action', 'succeeded')
                 THEN r.amount_cents ELSE 0 END
  FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN locations l ON l.id = p.location_id
) m GROUP BY 1, 2
"""


def _nonzero(rows, key_len: int) -> dict:
    out = {}
    for r in rows:
        values = tuple(round(float(v), 6) for v in list(r.values())[key_len:])
        if any(values):
            out[tuple(r.values())[:key_len]] = values
    return out


async def assert_rollups_equal_recount(db) -> None:
    kept = _nonzero(await db.fetch("SELECT * FROM location_hours"), 2)
    assert kept == _nonzero(await db.fetch(RECOUNT_HOURS), 2)
    money = _nonzero(await db.fetch("SELECT * FROM location_money_days"), 2)
    assert money == _nonzero(await db.fetch(RECOUNT_MONEY), 2)


async def test_rollups_equal_a_recount_after_every_kind_of_change(db):
    rng = random.Random(17)
    rome = await make_location(timezone="Europe/Rome")
    tokyo = await make_location(timezone="Asia/Tokyo")
    spaces = [await make_space(loc) for loc in (rome, rome, tokyo)]
    user = await make_user()
    base = datetime(2026, 3, 27, tzinfo=UTC)  # across Europe's switch to summer time
    rows = []
    for i in range(90):
        space = spaces[i % 3]
        start = base + timedelta(hours=3 * (i // 3), minutes=15 * rng.randrange(4))
        status = rng.choice(["held", "confirmed", "expired", "completed", "cancelled", "no_show"])
        created = start - timedelta(hours=rng.randrange(1, 200))
        rows.append((space.id, space.location_id, user.id, start, start + timedelta(hours=1),
                     status, 1000, "EUR", created, created))  # fmt: skip
    await db.executemany(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " $8, $9, $10)",
        rows,
    )
    await assert_rollups_equal_recount(db)

    # Several rows per statement, as the timer and a batched writer do.
    await db.execute(
        "UPDATE bookings SET status = 'confirmed' WHERE status = 'held' AND id % 2 = 0"
    )
    await db.execute("UPDATE bookings SET status = 'expired' WHERE status = 'held'")
    await db.execute(
        "UPDATE bookings SET status = 'checked_in' WHERE status = 'confirmed' AND id % 3 = 0"
    )
    await db.execute("UPDATE bookings SET status = 'cancelled' WHERE status = 'confirmed'")
    # Reschedules: across an hour, and a space's last booking across days.
    await db.execute(
        "UPDATE bookings SET starts_at = starts_at + interval '1 day 2 hours',"
        " ends_at = ends_at + interval '1 day 2 hours'"
        " WHERE id = (SELECT max(id) FROM bookings WHERE space_id = $1)",
        spaces[0].id,
    )
    # Columns the rollups do not read change nothing.
    await db.execute("UPDATE bookings SET deadline_at = now(), updated_at = now()")
    await db.execute("DELETE FROM bookings WHERE id = (SELECT min(id) FROM bookings)")
    await assert_rollups_equal_recount(db)

    ids = [r["id"] for r in await db.fetch("SELECT id FROM bookings WHERE status <> 'held'")]
    for n, booking_id in enumerate(ids[:30]):
        at = base + timedelta(hours=7 * n)
        status = ["succeeded", "failed", "requires_payment"][n % 3]
        payment = await db.fetchval(
            "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, amount_cents,"
            " currency, status, created_at, updated_at) VALUES ($1, $2, $3, 1500, 'EUR', $4,"
            " $5, $5) RETURNING id",
            booking_id, user.id, f"pi_roll_{booking_id}", status, at,
        )  # fmt: skip
        if status == "succeeded" and n % 2:
            await db.execute(
                "INSERT INTO refunds (payment_id, amount_cents, status, created_at)"
                " VALUES ($1, 500, 'queued', $2)",
                payment, at + timedelta(hours=30),
            )  # fmt: skip
    assert await db.fetchval("SELECT count(*) FROM payments WHERE location_id IS NULL") == 0
    await db.execute("UPDATE payments SET status = 'succeeded' WHERE status = 'requires_payment'")
    await db.execute("UPDATE payments SET status = 'partially_refunded' WHERE id % 2 = 1")
    await db.execute("UPDATE refunds SET status = 'failed' WHERE id % 3 = 0")
    await db.execute("UPDATE refunds SET status = 'succeeded' WHERE status = 'queued'")
    await assert_rollups_equal_recount(db)

    # Local hours and dates move with the zone.
    await db.execute("UPDATE locations SET timezone = 'America/New_York' WHERE id = $1", rome.id)
    await assert_rollups_equal_recount(db)


async def test_payments_know_their_location_from_creation(db):
    loc = await make_location()
    space = await make_space(loc)
    user = await make_user()
    start = datetime(2031, 1, 1, 9, tzinfo=UTC)
    booking = await db.fetchval(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
        " price_cents, currency) VALUES ($1, $2, $3, $4, $5, 'held', 1500, 'EUR') RETURNING id",
        space.id, loc.id, user.id, start, start + timedelta(hours=1),
    )  # fmt: skip
    location = await db.fetchval(
        "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, amount_cents,"
        " currency) VALUES ($1, $2, 'pi_loc', 1500, 'EUR') RETURNING location_id",
        booking, user.id,
    )  # fmt: skip
    assert location == loc.id
