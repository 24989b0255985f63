"""Fresh test databases cloned from the migrated template, made ahead of the tests that take them.

`CREATE DATABASE … TEMPLATE` costs ~0.2 s (PostgreSQL copies ~400 files); at one database per
test that was minutes of the suite spent waiting. Threads of our own clone the next
databases while the current test runs and drop the used ones after it, so a test that asks
for a database usually finds it made. Each test still gets its own, never used before.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import count
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


class Clones:
    """Databases cloned from `template` on the server of `admin_url`, `ahead` made in advance."""

    def __init__(self, admin_url: str, template: str, *, ahead: int = 3) -> None:
        self._admin_url = admin_url
        self._template = template
        self._ahead = ahead
        self._numbers = count(1)
        # Two workers: a clone mostly waits (for PostgreSQL's checkpoint and file copies), so
        # two at a time make nearly twice as many per second (156 -> 76 ms a database here).
        self._worker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-clones")
        self._made: deque[Future[str]] = deque()
        self._drops: list[Future[None]] = []

    async def take(self) -> str:
        """The name of a fresh database, for one test only."""
        if not self._made:
            self._made.append(self._submit(self._create))
        made = self._made.popleft()
        while len(self._made) < self._ahead:
            self._made.append(self._submit(self._create))
        return await asyncio.wrap_future(made)

    def give_back(self, name: str) -> None:
        """Drop a database a test is done with, in the background (`close` reports failures)."""
        self._drops.append(self._submit(lambda: self._drop(name)))

    def close(self) -> None:
        """Drop the databases made ahead that no test took; wait for every drop, raise the first
        that failed."""
        try:
            for made in self._made:
                name = made.result()
                self._drops.append(self._submit(lambda name=name: self._drop(name)))
        finally:
            self._made.clear()
            self._worker.shutdown(wait=True)
        for dropped in self._drops:
            dropped.result()

    def _submit(self, job: Callable[[], Coroutine[Any, Any, T]]) -> Future[T]:
        return self._worker.submit(lambda: asyncio.run(job()))

    async def _create(self) -> str:
        name = f"t_{os.getpid()}_{next(self._numbers)}"
        await self._execute(f"CREATE DATABASE {name} TEMPLATE {self._template} STRATEGY FILE_COPY")
        return name

    async def _drop(self, name: str) -> None:
        await self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    async def _execute(self, statement: str) -> None:
        conn = await asyncpg.connect(self._admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()
