"""No double booking, whatever the routing: two server processes, one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.accounts.tokens import Principal, Role, TokenKind, issue
from tests.e2e.nodes import JWT_SECRET
from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.e2e

REQUESTS_PER_SLOT = 200
SLOTS = 20


def bearer(user_id: int) -> dict[str, str]:
    token = issue(
        JWT_SECRET, Principal(user_id, Role.MEMBER), TokenKind.ACCESS, 3600, now=datetime.now(UTC)
    )
    return {"Authorization": f"Bearer {token}"}


async def test_concurrent_holds_across_two_processes(orm, cluster, db):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1500)
    users = [await make_user() for _ in range(10)]
    nodes = [cluster("race-a"), cluster("race-b")]
    base = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        for n in range(SLOTS):
            start = base + timedelta(hours=n)
            body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
            requests = [
                http.post(
                    f"{nodes[i % 2].url}/api/v1/spaces/{space.id}/bookings",
                    json=body,
                    headers=bearer(users[i % len(users)].id),
                )
                for i in range(REQUESTS_PER_SLOT)
            ]
            responses = await asyncio.gather(*requests)
            codes = [r.status_code for r in responses]
            assert codes.count(201) == 1, sorted(set(codes))
            assert codes.count(409) == REQUESTS_PER_SLOT - 1, sorted(set(codes))
            for r in responses:
                if r.status_code == 409:
                    assert r.headers["content-type"].startswith("application/problem+json")
                    assert r.json()["code"] == "slot_taken"
            live = await db.fetchval(
                "SELECT count(*) FROM bookings WHERE space_id = $1 AND starts_at = $2 "
                "AND status IN ('held', 'confirmed', 'checked_in')",
                space.id,
                start,
            )
            assert live == 1
