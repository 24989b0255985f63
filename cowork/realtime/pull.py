"""Reading a JetStream durable consumer for as long as a task runs: one loop for every reader.

`pull_forever` subscribes (again after any failure, with a growing pause), hands each batch to
its reader, and lets go of the subscription when it stops: left subscribed, a status message
the server sends after a fetch timed out (408) waits unread in its queue, and the bus's drain
at shutdown waits 30 s for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

PullSubscription = JetStreamContext.PullSubscription
MAX_BACKOFF = 5.0  # seconds between tries while NATS or the consumer is away


async def fetch(psub: PullSubscription, batch: int, timeout: float) -> list[Msg]:
    """Up to `batch` messages, or none after `timeout`. nats-py turns a cancel that lands
    during the fetch into its timeout: honour it, or the task waits to be cancelled again."""
    try:
        return await psub.fetch(batch=batch, timeout=timeout)
    except (TimeoutError, nats.errors.TimeoutError):
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None
        return []


async def pull_forever(
    subscribe: Callable[[], Awaitable[PullSubscription]],
    read: Callable[[PullSubscription], Awaitable[None]],
    log: logging.Logger,
    what: str,
) -> None:
    """Call `read(subscription)` over and over until cancelled; resubscribe after a failure."""
    backoff = 0.0
    psub: PullSubscription | None = None
    while True:
        try:
            if psub is None:
                psub = await subscribe()
                if backoff:
                    log.info("%s resumed", what)
                backoff = 0.0
            await read(psub)
        except asyncio.CancelledError:
            await let_go(psub)
            raise
        except Exception as exc:  # noqa: BLE001 (NATS away, or the consumer was deleted)
            if not backoff:
                log.warning("%s paused: %s", what, exc or type(exc).__name__)
            await let_go(psub)
            psub = None
            backoff = min(MAX_BACKOFF, max(0.2, backoff * 2))
            await asyncio.sleep(backoff)


async def let_go(psub: PullSubscription | None) -> None:
    """Unsubscribe a pull subscription no longer read (see the module's docstring)."""
    if psub is not None:
        with contextlib.suppress(Exception):
            await psub.unsubscribe()
