"""Stopping background tasks so that shutdown always ends.

A library that turns a `CancelledError` into its own error (nats-py's request timeout does,
if the cancel lands while it waits for a reply) leaves a loop running with its cancellation
spent: it then waits forever, and the node never exits. So we cancel again until the task is
done, within a bounded time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("cowork.tasks")


async def stop_task(task: asyncio.Task[Any] | None, *, grace: float = 5.0, tries: int = 5) -> None:
    """Cancel `task` and wait for it; re-cancel if a library swallowed the cancellation."""
    if task is None or task.done():
        return
    for _ in range(tries):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=grace / tries)
        if done:
            break
    else:
        log.error("task %s did not stop after %d cancellations", task.get_name(), tries)
        return
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s ended with an error", task.get_name(), exc_info=task.exception())


class Worker:
    """A named background loop: `start()` spawns `run()`, `stop()` cancels and awaits it.

    Every long-running loop of a node is a Worker owned by the supervisor (cowork.services),
    which starts and stops them in a declared order; nothing else creates background tasks.
    """

    name = "worker"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def run(self) -> None:
        raise NotImplementedError
