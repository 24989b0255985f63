"""ActorRegistry: get-or-start space actors, restart crashed ones, drain them at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from cowork.actors.base import Actor, ActorState, ActorStoppedError, Envelope
from cowork.actors.commands import Command, Forget
from cowork.actors.space import SpaceActor
from cowork.metrics import Metrics

log = logging.getLogger("cowork.actors.registry")


class RegistryClosedError(ActorStoppedError):
    """The node is shutting down and takes no new work."""


class ActorRegistry:
    def __init__(self, factory: Callable[[int], SpaceActor], metrics: Metrics) -> None:
        self._factory = factory
        self._metrics = metrics
        self._actors: dict[int, SpaceActor] = {}
        self._starting: dict[int, asyncio.Task[SpaceActor]] = {}
        self._closed = False
        self.crashes = 0

    def __len__(self) -> int:
        return len(self._actors)

    def peek(self, space_id: int) -> SpaceActor | None:
        return self._actors.get(space_id)

    async def get(self, space_id: int) -> SpaceActor:
        actor = self._actors.get(space_id)
        if actor is not None and actor.state is ActorState.RUNNING:
            return actor
        if self._closed:
            raise RegistryClosedError("node is draining")
        task = self._starting.get(space_id) or self._spawn(space_id, [])
        return await asyncio.shield(task)

    def _spawn(self, space_id: int, inherited: list[Envelope]) -> asyncio.Task[SpaceActor]:
        """Start the space's actor (once, however many ask at the same time)."""
        task = asyncio.create_task(self._start(space_id, inherited), name=f"start:space:{space_id}")
        self._starting[space_id] = task
        task.add_done_callback(lambda _: self._starting.pop(space_id, None))
        return task

    async def _start(self, space_id: int, inherited: list[Envelope]) -> SpaceActor:
        actor = self._factory(space_id)
        actor.on_exit = self._on_exit
        try:
            await actor.start(inherited)  # loads state; SpaceNotFoundError for unknown spaces
        except BaseException as exc:
            _fail(inherited, exc)
            raise
        self._actors[space_id] = actor
        self._metrics.actors.set(len(self._actors))
        return actor

    async def ask(self, space_id: int, message: Command) -> Any:
        for attempt in range(2):
            actor = await self.get(space_id)
            try:
                return await actor.ask(message)
            except ActorStoppedError:
                # It stopped for idleness or crashed between lookup and delivery: start afresh.
                if attempt == 1 or self._closed:
                    raise
        raise AssertionError("unreachable")

    def tell(self, space_id: int, message: Command) -> None:
        actor = self._actors.get(space_id)
        if actor is not None and actor.state is ActorState.RUNNING:
            actor.tell(message)

    def forget(self, *, space_id: int | None = None, location_id: int | None = None) -> None:
        """Make actors reload their rules (a space or its location was edited)."""
        for actor in list(self._actors.values()):
            if actor.space_id == space_id or (
                location_id is not None and actor.location_id == location_id
            ):
                actor.memory.stale = True  # reads wait for the reload (they take the mailbox)
                actor.tell(Forget())

    def _on_exit(
        self, actor: Actor[Command], error: BaseException | None, leftovers: list[Envelope]
    ) -> None:
        assert isinstance(actor, SpaceActor)
        if self._actors.get(actor.space_id) is actor:
            del self._actors[actor.space_id]
        self._metrics.actors.set(len(self._actors))
        if error is None:
            return
        self.crashes += 1
        log.error(
            "space actor %s crashed on one message; %d queued behind it go to its successor",
            actor.space_id,
            len(leftovers),
            exc_info=error,
        )
        if leftovers:
            self._spawn(actor.space_id, leftovers)

    def mailbox_depth(self) -> int:
        return sum(a.depth for a in self._actors.values())

    async def stop(self) -> None:
        """Take no new work, let every actor finish its mailbox, then stop."""
        self._closed = True
        for task in list(self._starting.values()):
            task.cancel()
        await asyncio.gather(
            *(a.stop() for a in list(self._actors.values())), return_exceptions=True
        )


def _fail(envelopes: list[Envelope], error: BaseException) -> None:
    """Messages a successor could not take (it failed to start) get that failure."""
    for _, future in envelopes:
        if future is not None and not future.done():
            future.set_exception(ActorStoppedError(f"successor failed to start: {error!r}"))
