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
