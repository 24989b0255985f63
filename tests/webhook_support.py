"""Shared by the webhook tests: fast retry settings, a node with its own durable consumer,
registering endpoints and making events over the API."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats

from cowork.config import Settings, WebhookSettings
from cowork.realtime.stream import STREAM
from tests.conftest import RunningServer, start_server, stop_server
from tests.factories import auth
from tests.polling import poll

HOOKS = "/api/v1/manage/webhooks"


def fast_webhooks(**overrides: Any) -> WebhookSettings:
    """Retries 50 ms apart (doubling, capped at 200 ms); a consumer of its own per test, so no
    other test's events reach it."""
    values: dict[str, Any] = {
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "poll_seconds": 0.1,
        "consumer": f"test-webhooks-{uuid.uuid4().hex[:12]}",
        **overrides,
    }
    return WebhookSettings(**values)


@contextlib.asynccontextmanager
async def hooks_node(settings: Settings, **overrides: Any) -> AsyncIterator[RunningServer]:
    settings = replace(settings, webhooks=fast_webhooks(**overrides))
    running, srv = await start_server(settings)
    try:
        yield running
    finally:
        await stop_server(srv)
        nc = await nats.connect(settings.nats_url)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_consumer(STREAM, settings.webhooks.consumer)
        await nc.close()


async def register(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    location_ids: list[int],
    events: tuple[str, ...] = ("booking.confirmed", "booking.cancelled"),
) -> dict[str, Any]:
    body = {"url": url, "events": list(events), "location_ids": location_ids}
    r = await http.post(HOOKS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


_hours = iter(range(1, 10_000))


async def book(http: httpx.AsyncClient, settings: Settings, member: Any, space: Any) -> int:
    """A free booking (confirmed at once): one `booking.confirmed` event."""
    day = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = day + timedelta(hours=next(_hours))
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
        headers=auth(settings, member),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def deliveries(
    http: httpx.AsyncClient, headers: dict[str, str], hook_id: int, **params: Any
) -> list[dict[str, Any]]:
    r = await http.get(f"{HOOKS}/{hook_id}/deliveries", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def settled(
    http: httpx.AsyncClient, headers: dict[str, str], hook_id: int, n: int
) -> list[dict[str, Any]]:
    """The endpoint's log once it holds `n` deliveries and none is still pending."""
    return await poll(
        lambda: deliveries(http, headers, hook_id),
        lambda items: len(items) == n and all(d["status"] != "pending" for d in items),
    )
