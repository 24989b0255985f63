"""No double booking, whatever the routing: two server processes, one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from cowork.accounts.tokens import Principal, Role, TokenKind, issue
from tests.e2e.nodes import JWT_SECRET, start_together
from tests.factories import make_location, make_space, make_user

pytestmark = pytest.mark.e2e

REQUESTS_PER_SLOT = 200
SLOTS = 20


async def post(
    http: aiohttp.ClientSession, url: str, body: dict[str, str], headers: dict[str, str]
) -> tuple[int, str, dict[str, Any]]:
    async with http.post(url, json=body, headers=headers) as r:
        return r.status, r.content_type, await r.json(content_type=None)


def bearer(user_id: int) -> dict[str, str]:
    token = issue(
        JWT_SECRET, Principal(user_id, Role.MEMBER), TokenKind.ACCESS, 3600, now=datetime.now(UTC)
    )
    return {"Authorization": f"Bearer {token}"}


async def test_concurrent_holds_across_two_processes(orm, cluster, db):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1500)
    users = [await make_user() for _ in range(10)]
    nodes = await start_together(cluster, "race-a", "race-b")
    base = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    # aiohttp: the client must not be the bottleneck of a 4,000-request storm
    connector = aiohttp.TCPConnector(limit=REQUESTS_PER_SLOT)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:
        for n in range(SLOTS):
            start = base + timedelta(hours=n)
            body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
            responses = await asyncio.gather(
                *(
                    post(
                        http,
                        f"{nodes[i % 2].url}/api/v1/spaces/{space.id}/bookings",
                        body,
                        bearer(users[i % len(users)].id),
                    )
                    for i in range(REQUESTS_PER_SLOT)
                )
            )
            codes = [status for status, _, _ in responses]
            odd = [body for status, _, body in responses if status not in (201, 409)]
            why = f"{sorted(set(codes))} {odd[:3]}\n" + "\n".join(n.log() for n in nodes)
            assert codes.count(201) == 1, why
            assert codes.count(409) == REQUESTS_PER_SLOT - 1, why
            for status, content_type, problem in responses:
                if status == 409:
                    assert content_type == "application/problem+json"
                    assert problem["code"] == "slot_taken"
            live = await db.fetchval(
                "SELECT count(*) FROM bookings WHERE space_id = $1 AND starts_at = $2 "
                "AND status IN ('held', 'confirmed', 'checked_in')",
                space.id,
                start,
            )
            assert live == 1
