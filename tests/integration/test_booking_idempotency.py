"""Idempotency-Key on booking writes (IETF draft semantics)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll


def body_for(start: datetime, hours: int = 1) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


@pytest.fixture
async def setup(server):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=700)
    member = await make_user()
    start = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    return space, auth(server.settings, member), start


async def test_same_key_same_body_returns_the_stored_response(client, setup, db):
    space, headers, start = setup
    url = f"/api/v1/spaces/{space.id}/bookings"
    first = await client.post(
        url, json=body_for(start), headers={**headers, "Idempotency-Key": "k1"}
    )
    again = await client.post(
        url, json=body_for(start), headers={**headers, "Idempotency-Key": "k1"}
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE space_id = $1", space.id) == 1


async def test_same_key_other_body_is_422(client, setup):
    space, headers, start = setup
    url = f"/api/v1/spaces/{space.id}/bookings"
    h = {**headers, "Idempotency-Key": "k2"}
    assert (await client.post(url, json=body_for(start), headers=h)).status_code == 201
    r = await client.post(url, json=body_for(start, 2), headers=h)
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


async def test_a_refusal_is_replayed_too(client, setup, server):
    space, headers, start = setup
    url = f"/api/v1/spaces/{space.id}/bookings"
    other = auth(server.settings, await make_user())
    assert (await client.post(url, json=body_for(start), headers=other)).status_code == 201
    h = {**headers, "Idempotency-Key": "k3"}
    first = await client.post(url, json=body_for(start), headers=h)
    again = await client.post(url, json=body_for(start), headers=h)
    assert first.status_code == again.status_code == 409
    assert again.json()["code"] == "slot_taken"


async def test_invalid_key_is_400(client, setup):
    space, headers, start = setup
    r = await client.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json=body_for(start),
        headers={**headers, "Idempotency-Key": "x" * 300},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_idempotency_key"


async def test_retry_after_a_lost_response_returns_the_original_booking(client, setup, server, db):
    """The client sends, the connection dies before the answer; the retry gets the booking."""
    space, headers, start = setup
    payload = json.dumps(body_for(start)).encode()
    path = f"/api/v1/spaces/{space.id}/bookings"
    port = int(server.url.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {headers['Authorization']}\r\nIdempotency-Key: lost-1\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    writer.close()  # hang up without reading the response
    r = await poll(
        lambda: client.post(
            path, json=body_for(start), headers={**headers, "Idempotency-Key": "lost-1"}
        ),
        lambda r: not (r.status_code == 409 and r.json()["code"] == "idempotency_key_in_flight"),
    )
    assert r.status_code == 201, r.text
    ids = await db.fetch("SELECT id FROM bookings WHERE space_id = $1", space.id)
    assert [row["id"] for row in ids] == [r.json()["id"]]
