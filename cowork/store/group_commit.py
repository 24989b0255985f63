"""Group commit of new bookings: holds that arrive together share one statement.

Each space's actor hands over what it drained from its mailbox (`write`); the node's one
writer sends everything handed over meanwhile, from any space, as one statement
(`new_bookings.insert_bookings`: one round trip, one commit). Idle, it sends at once; while
statements are out it lingers (≤ `linger`) so the next one carries more. At most
`max_inflight` statements are out at a time: whatever arrives meanwhile waits for the next.

The database still decides: the statement is all or nothing, so when PostgreSQL refuses it
(an overlap another node raced into, any row it rejects) each row is written alone and gets
its own outcome. One bad row never fails the others. A failure that is not a refusal (the
connection went away: the statement may or may not have committed) is every row's outcome;
writing them again could meet their own commit as an overlap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

import asyncpg
from tortoise.exceptions import IntegrityError

from cowork.metrics import Metrics
from cowork.store.bookings import BookingRow, SlotConflict
from cowork.store.db import db, retry_rolled_back, rolled_back
from cowork.store.new_bookings import NewBooking, insert_bookings
from cowork.tasks import stop_task

log = logging.getLogger("cowork.store.group_commit")
STOP_GRACE_SECONDS = 10.0

Outcome = BookingRow | Exception
Waiting = tuple[Sequence[NewBooking], "asyncio.Future[list[Outcome]]"]


def _refused(exc: Exception) -> bool:
    """Did PostgreSQL reject the statement (nothing of it committed)?"""
    return (
        isinstance(exc, SlotConflict | IntegrityError)
        or isinstance(exc.__cause__, asyncpg.exceptions.DataError)
        or rolled_back(exc)
    )


async def write_batch(new: Sequence[NewBooking]) -> list[Outcome]:
    """One statement for all; if the database refuses it, each row alone (again while
    PostgreSQL aborts it to break a deadlock with another node). An outcome per row, in
    order: the inserted row, or why it was not (SlotConflict: another booking won)."""
    try:
        return list(await insert_bookings(db(), new))
    except Exception as exc:  # noqa: BLE001 - every outcome is handed to its row
        if not _refused(exc) or (len(new) == 1 and not rolled_back(exc)):
            return [exc for _ in new]
    outcomes: list[Outcome] = []
    for one in new:
        try:
            outcomes += await retry_rolled_back(partial(insert_bookings, db(), [one]))
        except Exception as exc:  # noqa: BLE001
            outcomes.append(exc)
    return outcomes


class GroupCommit:
    """The node's writer of new bookings. Not started (tests, tools), it writes each batch
    it is given at once, alone."""

    def __init__(
        self,
        *,
        linger: float = 0.002,
        max_rows: int = 512,
        max_inflight: int = 2,
        metrics: Metrics | None = None,
    ) -> None:
        self._linger = linger
        self._max_rows = max_rows
        self._slots = asyncio.Semaphore(max_inflight)
        self._metrics = metrics
        self._waiting: list[Waiting] = []
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()  # nothing waiting, no statement out
        self._settled.set()
        self.groups = 0  # statements sent (before any row-by-row retry)
        self.rows = 0

    async def write(self, new: Sequence[NewBooking]) -> list[Outcome]:
        """Insert `new` (one space's holds) with whatever else is being written."""
        if self._task is None or self._task.done():
            return await self._send(new)
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self._waiting.append((new, future))
        self._settled.clear()
        self._wake.set()
        return await future

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Send what is waiting, let the statements out finish, then stop."""
        if self._task is not None and not self._task.done():
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await self._settled.wait()
            except TimeoutError:
                log.error("booking writer: statements still out after %ss", STOP_GRACE_SECONDS)
        await stop_task(self._task)
        self._task = None
        for _, future in self._waiting:  # only if the loop died: fail them, never strand
            if not future.done():
                future.set_exception(RuntimeError("the booking writer stopped"))
        self._waiting.clear()

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            if self._inflight and self._linger:  # busy: let the next statement carry more
                await asyncio.sleep(self._linger)
            await self._slots.acquire()
            group = self._take()
            task = asyncio.create_task(self._flush(group), name="group-commit:flush")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    def _take(self) -> list[Waiting]:
        """The oldest waiting batches, up to `max_rows` rows (at least one batch)."""
        count, rows = 0, 0
        for new, _ in self._waiting:
            if count and rows + len(new) > self._max_rows:
                break
            count, rows = count + 1, rows + len(new)
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    async def _flush(self, group: list[Waiting]) -> None:
        try:
            outcomes = await self._send([n for new, _ in group for n in new])
            for new, future in group:
                mine, outcomes = outcomes[: len(new)], outcomes[len(new) :]
                if not future.done():
                    future.set_result(mine)
        except BaseException as exc:  # cancelled mid-statement: nobody may wait forever
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            raise
        finally:
            self._slots.release()
            if not self._waiting and self._inflight <= {asyncio.current_task()}:
                self._settled.set()

    async def _send(self, new: Sequence[NewBooking]) -> list[Outcome]:
        self.groups += 1
        self.rows += len(new)
        if self._metrics is not None:
            self._metrics.booking_rows.observe(len(new))
        return await write_batch(new)
