"""Scheduling test support: a node on a hand-driven clock, an HTTP client, slot helpers.

Use in a test module with `from tests.scheduling_support import *  # noqa: F403` (the
fixture) and import the helpers by name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cowork.clock import ManualClock
from cowork.config import Settings
from cowork.services import Services
from tests.conftest import TLS, RunningServer, start_server, stop_server

__all__ = ["T0", "Clocked", "at", "clocked", "problem", "slot"]

# Monday 2030-01-07 06:00 UTC (07:00 in Rome): far from any DST change.
T0 = datetime(2030, 1, 7, 6, tzinfo=UTC)


@dataclass
class Clocked:
    server: RunningServer
    clock: ManualClock
    http: httpx.AsyncClient

    @property
    def settings(self) -> Settings:
        return self.server.settings

    @property
    def services(self) -> Services:
        services: Services = self.server.app.ctx.services
        return services

    async def sweep(self) -> int:
        """Let the timer act on everything due at the clock's now."""
        return await self.services.timer.sweep()


@pytest.fixture
async def clocked(settings: Settings) -> AsyncIterator[Clocked]:
    """A node whose clock moves only when the test says; the timer acts on `sweep()`."""
    clock = ManualClock(T0)
    quiet = replace(settings, timer_max_sleep_seconds=3600)
    running, srv = await start_server(quiet, clock)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30, verify=TLS) as http:
            yield Clocked(running, clock, http)
    finally:
        await stop_server(srv)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in UTC, `day` days after T0's date."""
    base = T0.replace(hour=0)
    return base + timedelta(days=day, hours=hour, minutes=minute)


def slot(start: datetime, minutes: int = 60) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat()}


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert a problem+json refusal with this status and code; its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body
