"""A small actor: one task, a bounded mailbox, one message at a time.

`ask` awaits the reply; `tell` does not. A domain error goes back to the caller and the actor
lives on. Any other error is a poison message: it fails that message alone (the caller gets
`ActorCrashedError`), the actor stops, and the messages still queued behind it are handed to
its successor (the registry starts one from the database), so nobody else's request fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Generic, TypeVar

from cowork.domain.errors import DomainError
from cowork.tasks import stop_task

log = logging.getLogger("cowork.actors")
STOP_GRACE_SECONDS = 10.0

M = TypeVar("M")


class ActorState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CRASHED = "crashed"


class MailboxFullError(Exception):
    """The actor has too much queued work; the caller should retry later."""


class ActorStoppedError(Exception):
    """The actor stopped before it could take or finish the message."""


class ActorCrashedError(Exception):
    """This very message crashed the actor (a bug, or the database went away mid-write)."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"{name} failed: {cause!r}")
        self.cause = cause


Envelope = tuple[Any, "asyncio.Future[Any] | None"]


class Actor(Generic[M]):
    name: str = "actor"

    def __init__(self, mailbox_size: int, idle_seconds: float | None = None) -> None:
        self._mailbox: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=mailbox_size)
        self._idle_seconds = idle_seconds
        self._task: asyncio.Task[None] | None = None
        self.state = ActorState.NEW
        self.on_exit: Callable[[Actor[M], BaseException | None, list[Envelope]], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, inherited: list[Envelope] | None = None) -> None:
        """Load state, take over a crashed predecessor's queued messages, then run."""
        await self.on_start()
        for envelope in inherited or ():
            self._mailbox.put_nowait(envelope)  # fresh mailbox: fits what the old one held
        self.state = ActorState.RUNNING
        self._task = asyncio.create_task(self._run(), name=f"actor:{self.name}")

    async def stop(self) -> None:
        """Finish queued messages, then stop."""
        if self._task is None or self.state is not ActorState.RUNNING:
            return
        self.state = ActorState.STOPPING
        await self._mailbox.put((_STOP, None))
        done, _ = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
        if not done:  # a message that never finishes must not keep the node alive
            await stop_task(self._task)

    @property
    def depth(self) -> int:
        return self._mailbox.qsize()

    # -- messaging -------------------------------------------------------------------------
    def tell(self, message: M) -> None:
        self._enqueue(message, None)

    async def ask(self, message: M) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(message, future)
        return await future

    def _enqueue(self, message: M, future: asyncio.Future[Any] | None) -> None:
        if self.state is not ActorState.RUNNING:
            raise ActorStoppedError(self.name)
        try:
            self._mailbox.put_nowait((message, future))
        except asyncio.QueueFull:
            raise MailboxFullError(self.name) from None

    # -- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(self._idle_seconds):
                        message, future = await self._mailbox.get()
                except TimeoutError:
                    if self._mailbox.empty():
                        self.state = ActorState.STOPPING
                        break
                    continue
                if message is _STOP:
                    break
                await self._deliver(message, future)
        except Exception as exc:
            error = exc
            log.exception("actor %s crashed", self.name)
        finally:
            self.state = ActorState.CRASHED if error else ActorState.STOPPED
            leftovers = self._take_pending()
            if error is None or self.on_exit is None:
                _fail(leftovers)
            if self.on_exit is not None:
                self.on_exit(self, error, leftovers if error is not None else [])

    async def _deliver(self, message: M, future: asyncio.Future[Any] | None) -> None:
        try:
            result = await self.handle(message)
        except DomainError as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        except Exception as exc:
            if future is not None and not future.done():
                future.set_exception(ActorCrashedError(self.name, exc))
            raise
        if future is not None and not future.done():
            future.set_result(result)

    def _take_pending(self) -> list[Envelope]:
        pending = []
        while not self._mailbox.empty():
            envelope = self._mailbox.get_nowait()
            if envelope[0] is not _STOP:
                pending.append(envelope)
        return pending

    # -- to override -----------------------------------------------------------------------
    async def on_start(self) -> None:
        """Load state before the first message."""

    async def handle(self, message: M) -> Any:
        raise NotImplementedError


_STOP: Any = object()


def _fail(envelopes: list[Envelope]) -> None:
    for _, future in envelopes:
        if future is not None and not future.done():
            future.set_exception(ActorStoppedError("actor stopped"))
