"""Connecting the ORM and applying migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.asyncpg import client as asyncpg_client
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContextPooled
from tortoise.connection import get_connections

from cowork.config import Settings, tortoise_config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
ROLLBACK_TRIES = 4
log = logging.getLogger("cowork.store.db")
T = TypeVar("T")


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending aerich migration; returns the versions applied."""
    from aerich import Command

    command = Command(
        tortoise_config=tortoise_config(settings), app="models", location=str(MIGRATIONS_DIR)
    )
    async with command:
        return await command.upgrade(run_in_transaction=True)


class _CancelSafeTransaction(TransactionContextPooled):
    """`in_transaction()` that gives its connection back when cancelled during BEGIN.

    Tortoise 1.1.9 acquires a pooled connection, then awaits BEGIN; a task cancelled in that
    await never reaches `__aexit__`, so the connection stays "in use" for good: the pool
    shrinks by one at every such cancel (a client gone mid-request, a stage stopped mid-sweep)
    and closing the pool waits its 10 s timeout for it.
    """

    async def __aenter__(self) -> Any:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            with contextlib.suppress(Exception):
                await asyncio.shield(pool.release(self.client._connection))
            raise
        return self.client


asyncpg_client.TransactionContextPooled = _CancelSafeTransaction  # type: ignore[misc]


async def init_orm(settings: Settings) -> None:
    # Global fallback: Sanic handlers run in tasks that do not inherit the listener's context.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


def db() -> BaseDBAsyncClient:
    """The default connection, for the few queries that are clearer in SQL."""
    return connections.get("default")


def rolled_back(exc: BaseException) -> bool:
    """Did PostgreSQL abort the transaction to break a deadlock or a serialization conflict
    (SQLSTATE class 40)? Nothing of it committed, so running it again is safe."""
    return any(
        isinstance(e, asyncpg.exceptions.TransactionRollbackError) for e in (exc, exc.__cause__)
    )


async def retry_rolled_back(attempt: Callable[[], Awaitable[T]], tries: int = ROLLBACK_TRIES) -> T:
    """Run `attempt` (one whole transaction) again while PostgreSQL aborts it (`rolled_back`).

    Two nodes inserting overlapping bookings at the same instant can each find the other's
    uncommitted row under the exclusion constraint and wait on it: PostgreSQL breaks the cycle
    by aborting one (40P01). Run again, that one meets the winner's committed row as an
    ordinary overlap (23P01), or commits if the winner rolled back."""
    for _ in range(tries - 1):
        try:
            return await attempt()
        except Exception as exc:
            if not rolled_back(exc):
                raise
            log.info("transaction aborted by PostgreSQL (%s); running it again", exc)
    return await attempt()


class DatabaseProbe:
    """Does the database answer `SELECT 1` within `timeout` seconds, even while it hangs?

    Cancelling a query PostgreSQL does not answer makes asyncpg wait for the cancel request
    to land before the connection returns to the pool, so a timed-out check would itself hang
    for the whole outage (a load balancer would see no answer instead of a 503). The probe is
    left to finish on its own instead, and checks meanwhile wait on that same probe.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[object] | None = None

    async def ok(self, timeout: float) -> bool:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(db().execute_query("SELECT 1"), name="db-probe")
            self._task.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._task)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False
        return True

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
