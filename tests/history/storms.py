"""Booking storms that record into a History: partially overlapping holds from many members,
spread over several URLs (HAProxy and the nodes themselves), with Idempotency-Keys.

Clients behave as the API asks: an answer that says nothing about the outcome (no answer, a
5xx, 409 idempotency_key_in_flight) is retried with the same key until a final answer or
`resolve_for` seconds; Retry-After is honoured. The checker then accepts only outcomes that
some interleaving of these operations explains.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from tests.e2e.test_booking_race import bearer
from tests.history.record import History, Op

RETRYABLE_CODES = frozenset({"idempotency_key_in_flight", "space_busy"})


@dataclass(frozen=True)
class Ask:
    """One hold a member wants: a space and a slot, through one URL."""

    url: str
    space_id: int
    user_id: int
    start: datetime
    end: datetime
    key: str


def overlapping_slots(base: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """Slots starting every 30 min, 60/90/120 min long: each overlaps several others partly."""
    lengths = (60, 90, 120)
    return [
        (base + timedelta(minutes=30 * k), base + timedelta(minutes=30 * k + lengths[k % 3]))
        for k in range(count)
    ]


def plan(
    urls: Sequence[str],
    space_ids: Sequence[int],
    user_ids: Sequence[int],
    slots: Sequence[tuple[datetime, datetime]],
    *,
    askers_per_slot: int = 2,
    tag: str = "storm",
) -> list[Ask]:
    """Every slot of every space wanted by `askers_per_slot` members, through rotating URLs,
    interleaved so that neighbouring requests compete."""
    url_cycle = itertools.cycle(urls)
    users = itertools.cycle(user_ids)
    asks = []
    for n, (start, end) in enumerate(slots):
        for space_id in space_ids:
            for a in range(askers_per_slot):
                asks.append(
                    Ask(
                        next(url_cycle),
                        space_id,
                        next(users),
                        start,
                        end,
                        f"{tag}-{space_id}-{n}-{a}",
                    )
                )
    return asks


async def hold(
    history: History, http: aiohttp.ClientSession, ask: Ask, *, client: int, resolve_for: float
) -> Op:
    """Ask for one hold; retry with the same key until the answer is final."""
    body = {"start": ask.start.isoformat(), "end": ask.end.isoformat()}
    headers = {**bearer(ask.user_id), "Idempotency-Key": ask.key}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + resolve_for
    while True:
        op = await history.call(
            http,
            "hold",
            "POST",
            f"{ask.url}/api/v1/spaces/{ask.space_id}/bookings",
            client=client,
            json_body=body,
            headers=headers,
            space_id=ask.space_id,
            user_id=ask.user_id,
        )
        final = not op.indeterminate and op.code not in RETRYABLE_CODES
        if final or loop.time() > deadline:
            return op
        await asyncio.sleep(_retry_after(op))


def _retry_after(op: Op) -> float:
    """What the answer asked for (Retry-After), else a short client back-off."""
    try:
        return min(float(op.headers.get("retry-after", "0.2")), 2.0) or 0.05
    except ValueError:
        return 0.2


async def run(
    history: History,
    http: aiohttp.ClientSession,
    asks: Sequence[Ask],
    *,
    clients: int = 32,
    resolve_for: float = 60.0,
) -> None:
    """`clients` concurrent members work through the asks in order."""
    queue: asyncio.Queue[Ask] = asyncio.Queue()
    for ask in asks:
        queue.put_nowait(ask)

    async def member(n: int) -> None:
        while not queue.empty():
            await hold(history, http, queue.get_nowait(), client=n, resolve_for=resolve_for)

    await asyncio.gather(*(member(n) for n in range(clients)))


def session(connections: int = 0, timeout: float = 60) -> aiohttp.ClientSession:
    """aiohttp for storms (a storm's client must not be its bottleneck)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )
