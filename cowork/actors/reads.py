"""Availability answered from a space actor's memory, encoded once per schedule version.

A read skips the actor's mailbox when the actor is running with fresh rules: memory is only
changed by the actor between awaits, so reading it from the handler sees a consistent state
(the one after the last commit). Otherwise the read is asked of the actor, which starts it or
reloads its rules first.
"""

from __future__ import annotations

from collections.abc import Callable

from cowork.actors.commands import GetAvailability
from cowork.actors.memory import Availability, EncodedRead
from cowork.actors.registry import ActorRegistry
from cowork.clock import Clock
from cowork.domain.slots import Slot


class AvailabilityReads:
    def __init__(self, registry: ActorRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    def cached(self, space_id: int, key: str) -> EncodedRead | None:
        """The answer to the query string `key`, if memory still gives the same."""
        actor = self._registry.peek(space_id)
        rules = actor.fresh_rules() if actor is not None else None
        if actor is None or rules is None:
            return None
        return actor.memory.cached(key, rules, self._clock.now())

    async def read(self, space_id: int, key: str, window: Slot) -> EncodedRead:
        """Compute the answer (from memory, or through the mailbox) and keep it encoded."""
        actor = self._registry.peek(space_id)
        rules = actor.fresh_rules() if actor is not None else None
        if actor is not None and rules is not None:
            answer = actor.memory.availability(window, rules, self._clock.now())
        else:
            answer = await self._registry.ask(space_id, GetAvailability(window))
            actor = self._registry.peek(space_id)
            rules = actor.fresh_rules() if actor is not None else None
        document = _document(space_id, window, answer)
        if actor is None or rules is None:
            return EncodedRead.of(document(), -1, None, answer.valid_until)
        return actor.memory.encode(key, rules, answer, document)


def _document(space_id: int, window: Slot, answer: Availability) -> Callable[[], object]:
    return lambda: answer.to_json(space_id, window)
