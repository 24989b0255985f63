"""Watching /readyz of several nodes through a fault: every answer, with its time, so a test
can say afterwards what each node reported during each outage."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.polling import poll


@dataclass(frozen=True)
class Reading:
    at: datetime
    url: str
    status: int | None  # None: the node did not answer at all
    body: dict[str, Any]

    @property
    def ready(self) -> bool:
        return self.status == 200

    def check(self, name: str) -> bool | None:
        return (self.body.get("checks") or {}).get(name)


class ReadinessWatch:
    """Polls /readyz of every URL in the background (each poll awaits its answer)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.readings: list[Reading] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReadinessWatch:
        self._task = asyncio.create_task(self._run(), name="readiness-watch")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def of(self, url: str, since: datetime | None = None) -> list[Reading]:
        return [r for r in self.readings if r.url == url and (since is None or r.at >= since)]

    def latest(self, url: str) -> Reading | None:
        readings = self.of(url)
        return readings[-1] if readings else None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                await asyncio.gather(*(self._read(http, url) for url in self.urls))
                await asyncio.sleep(0.1)  # the probe interval (a load balancer's `inter`)

    async def _read(self, http: httpx.AsyncClient, url: str) -> None:
        try:
            r = await http.get(f"{url}/readyz")
            reading = Reading(datetime.now(UTC), url, r.status_code, r.json())
        except (httpx.HTTPError, ValueError):
            reading = Reading(datetime.now(UTC), url, None, {})
        self.readings.append(reading)

    async def seen(
        self, predicate: Any, since: datetime, *, timeout: float = 30
    ) -> dict[str, Reading]:
        """Wait until every node gave a reading since `since` that satisfies predicate."""

        def found() -> dict[str, Reading]:
            return {
                url: next(r for r in self.of(url, since) if predicate(r))
                for url in self.urls
                if any(predicate(r) for r in self.of(url, since))
            }

        return await poll(lambda: found(), lambda f: len(f) == len(self.urls), timeout)


def down_for_database(reading: Reading) -> bool:
    return reading.status == 503 and reading.check("database") is False


def ready(reading: Reading) -> bool:
    return reading.status == 200
