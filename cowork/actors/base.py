"""A small actor: one task, a bounded mailbox, one message at a time.

`ask` awaits the reply; `tell` does not. A domain error goes back to the caller and the actor
lives on. Any other error is a poison message: it fails that message alone (the caller gets
`ActorCrashedError`), the actor stops, and the messages still queued behind it are handed to
its successor (the registry starts one from the database), so nobody else's request fails.

Messages the actor can handle together (`batchable`: holds) are drained from the mailbox as a
run, in order, and handled in one go (`handle_batch`: one write for all); the first other
message ends the run and is handled next, so the order of effects is kept.
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
        self._next: Envelope | None = None  # taken while draining a run, handled next
        self._max_batch = mailbox_size
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
        return self._mailbox.qsize() + (self._next is not None)

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
                if self._next is not None:
                    (message, future), self._next = self._next, None
                else:
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
                if self.batchable(message):
                    await self._deliver_run(self._drain_run(message, future))
                else:
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

    def _drain_run(self, message: M, future: asyncio.Future[Any] | None) -> list[Envelope]:
        """Batchable `message` and the batchable ones queued right behind it (the first other
        one is kept for next)."""
        run: list[Envelope] = [(message, future)]
        while len(run) < self._max_batch and not self._mailbox.empty():
            envelope = self._mailbox.get_nowait()
            if envelope[0] is _STOP or not self.batchable(envelope[0]):
                self._next = envelope
                break
            run.append(envelope)
        return run

    async def _deliver_run(self, run: list[Envelope]) -> None:
        """Handle a run in one go; each caller gets its own outcome. A domain error fails its
        message alone; any other error fails its message and then stops the actor, as a
        poison message would (after everyone else in the run got their answer)."""
        try:
            outcomes = await self.handle_batch([message for message, _ in run])
        except Exception as exc:  # noqa: BLE001 - a bug in the run: it poisons every message
            outcomes = [exc for _ in run]
        poison: Exception | None = None
        for (_, future), outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, Exception) and not isinstance(outcome, DomainError):
                poison = poison or outcome
                outcome = ActorCrashedError(self.name, outcome)
            if future is None or future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if poison is not None:
            raise poison

    def _take_pending(self) -> list[Envelope]:
        pending = [self._next] if self._next is not None and self._next[0] is not _STOP else []
        self._next = None
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

    def batchable(self, message: M) -> bool:
        """May `message` be handled together with others like it (`handle_batch`)?"""
        return False

    async def handle_batch(self, messages: list[M]) -> list[Any]:
        """Handle a run of batchable messages: one outcome per message, in order (a result,
        or the exception that message failed with)."""
        raise NotImplementedError


_STOP: Any = object()


def _fail(envelopes: list[Envelope]) -> None:
    for _, future in envelopes:
        if future is not None and not future.done():
            future.set_exception(ActorStoppedError("actor stopped"))
