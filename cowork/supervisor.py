"""One owner for a node's background work: start in a declared order, stop in reverse.

A stage is a named pair of coroutines (and an optional `quiesce`, run before the HTTP server
stops, to let go of clients and finish queued work). A stage that fails to start stops the
ones already started, in reverse, and the error propagates; a stage that fails to stop is
logged and the others still stop (trio's nursery, asyncio's TaskGroup: nothing is orphaned).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("cowork.supervisor")

Step = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Stage:
    name: str
    start: Step = _nothing
    stop: Step = _nothing
    quiesce: Step = _nothing


class Supervisor:
    def __init__(self) -> None:
        self._running: list[Stage] = []
        self._quiesced = False

    @property
    def running(self) -> list[str]:
        return [stage.name for stage in self._running]

    async def start(self, stages: list[Stage]) -> None:
        for stage in stages:
            try:
                await stage.start()
            except BaseException:
                log.error("stage %s failed to start; stopping the others", stage.name)
                await self.stop()
                raise
            self._running.append(stage)

    async def quiesce(self) -> None:
        """Stop taking work, in reverse order; the stages stay up until `stop`."""
        if self._quiesced:
            return
        self._quiesced = True
        for stage in reversed(self._running):
            await self._run(stage, stage.quiesce, "quiesce")

    async def stop(self) -> None:
        await self.quiesce()
        while self._running:
            stage = self._running.pop()
            await self._run(stage, stage.stop, "stop")

    @staticmethod
    async def _run(stage: Stage, step: Step, what: str) -> None:
        try:
            await step()
        except Exception:
            log.exception("stage %s failed to %s", stage.name, what)
