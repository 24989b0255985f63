import asyncpg
import pytest


async def test_healthz_names_node(client):
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["node_id"] == "node-1"
    assert r.headers["x-request-id"]


async def test_readyz_checks_database_and_nats(client):
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": True, "nats": True}


async def test_request_id_is_echoed(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


async def test_unknown_route_is_problem_json(client):
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_found"


async def test_openapi_served(client):
    r = await client.get("/docs/openapi.json")
    assert r.status_code == 200
    assert "bearer" in r.json()["components"]["securitySchemes"]


async def _insert_booking(db, space_id, user_id, start, end, status="confirmed"):
    return await db.fetchval(
        """INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,
               price_cents, currency)
           SELECT $1, location_id, $2, $3::text::timestamptz, $4::text::timestamptz, $5, 0, 'EUR'
           FROM spaces WHERE id = $1 RETURNING id""",
        space_id,
        user_id,
        start,
        end,
        status,
    )


@pytest.fixture
async def space_and_user(db):
    loc = await db.fetchval(
        """INSERT INTO locations (name, city, address, timezone, currency, description,
               opening_hours, cancellation_policy, booking_rules, floors, active,
               created_at, updated_at)
           VALUES ('L', 'Rome', 'Via 1', 'Europe/Rome', 'EUR', '', '{}', '[]', '{}', '[]', true,
                   now(), now()) RETURNING id"""
    )
    space = await db.fetchval(
        """INSERT INTO spaces (location_id, name, type, capacity, hourly_price_cents,
               description, floor, x, y, width, height, active, created_at, updated_at)
           VALUES ($1, 'D1', 'desk', 1, 0, '', 0, 0, 0, 1, 1, true, now(), now())
           RETURNING id""",
        loc,
    )
    user = await db.fetchval(
        """INSERT INTO users (email, password_hash, name, role, is_active, created_at, updated_at)
           VALUES ('u@example.com', 'x', 'U', 'member', true, now(), now()) RETURNING id"""
    )
    return space, user


async def test_exclusion_constraint_rejects_overlap(db, space_and_user):
    space, user = space_and_user
    await _insert_booking(db, space, user, "2030-01-01T09:00Z", "2030-01-01T11:00Z")
    with pytest.raises(asyncpg.exceptions.ExclusionViolationError) as err:
        await _insert_booking(db, space, user, "2030-01-01T10:00Z", "2030-01-01T12:00Z", "held")
    assert err.value.sqlstate == "23P01"


async def test_exclusion_constraint_accepts_adjacent_and_dead(db, space_and_user):
    space, user = space_and_user
    await _insert_booking(db, space, user, "2030-01-01T09:00Z", "2030-01-01T11:00Z")
    assert await _insert_booking(db, space, user, "2030-01-01T11:00Z", "2030-01-01T12:00Z")
    assert await _insert_booking(db, space, user, "2030-01-01T08:00Z", "2030-01-01T09:00Z")
    # A cancelled booking does not hold its slot.
    assert await _insert_booking(
        db, space, user, "2030-01-01T10:00Z", "2030-01-01T10:30Z", "cancelled"
    )
