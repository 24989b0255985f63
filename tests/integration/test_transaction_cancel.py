"""A task cancelled while its transaction begins gives the pooled connection back.

Fault: Tortoise acquired a connection, then awaited BEGIN; a cancel landing there skipped
`__aexit__`, so the connection stayed in use for good (found as a 10 s stall at every node
stop: the pool's close waited for a timer sweep cancelled mid-BEGIN).
"""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from cowork.store.db import db
from tests.polling import poll


async def _in_use() -> int:
    pool = db()._pool  # type: ignore[attr-defined]
    return sum(1 for holder in pool._holders if holder._in_use is not None)


async def test_cancel_at_every_await_of_a_transaction_leaks_no_connection(orm):
    async def work() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")

    await db().execute_query("SELECT 1")  # the pool exists from the first query on
    for turns in range(12):  # cancel after 0, 1, … loop turns: before, during and after BEGIN
        for _ in range(5):
            task = asyncio.create_task(work())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    await poll(_in_use, lambda n: n == 0, timeout=10)  # raises, naming how many leaked
    async with in_transaction() as conn:  # and the pool still serves
        assert (await conn.execute_query_dict("SELECT 1 AS one"))[0]["one"] == 1
