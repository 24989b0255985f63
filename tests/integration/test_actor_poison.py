"""Poison-message isolation: a message that crashes a space's actor fails alone.

Fault it catches: one message the actor cannot handle (a bug: here a command it does not
know; before the edge bounds, an availability window at the end of year 9999 overflowed its
date arithmetic) failing every request queued behind it for the same space — the "anyone
can take a space offline" hole.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cowork.actors.base import ActorCrashedError, ActorState
from cowork.actors.commands import GetAvailability, PlaceHold, Requester
from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.clock import SystemClock
from cowork.domain.errors import SlotTakenError
from cowork.domain.slots import Slot
from cowork.metrics import Metrics
from tests.factories import make_location, make_space, make_user

TIMING = SpaceTiming(hold_ttl=timedelta(minutes=10), no_show_grace=timedelta(minutes=15))


@pytest.fixture
async def registry(orm):
    def factory(space_id: int) -> SpaceActor:
        return SpaceActor(
            space_id,
            clock=SystemClock(),
            timing=TIMING,
            mailbox_size=64,
            idle_seconds=None,
            after_commit=lambda _: None,
        )

    registry = ActorRegistry(factory, Metrics())
    yield registry
    await registry.stop()


def _window(start: datetime, hours: int = 24) -> GetAvailability:
    return GetAvailability(Slot(start, start + timedelta(hours=hours)))


async def test_a_crashing_message_fails_alone_and_the_queue_behind_it_is_served(registry):
    space = await make_space(await make_location(), hourly_price_cents=1000)
    member = await make_user()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    first = await registry.get(space.id)
    poison = "a command no actor knows"
    hold = PlaceHold(Requester(member.id), tomorrow, tomorrow + timedelta(hours=1))
    # All enqueued before the actor takes the first: the poison leads, six wait behind it.
    results = await asyncio.gather(
        registry.ask(space.id, poison),
        *(registry.ask(space.id, _window(tomorrow)) for _ in range(5)),
        registry.ask(space.id, hold),
        return_exceptions=True,
    )
    assert isinstance(results[0], ActorCrashedError)
    assert [r for r in results[1:] if isinstance(r, BaseException)] == []
    assert results[-1].status.value == "held"
    assert registry.crashes == 1
    assert first.state is ActorState.CRASHED
    successor = registry.peek(space.id)
    assert successor is not None
    assert successor is not first
    assert successor.state is ActorState.RUNNING
    # The successor's memory holds what it committed for the first actor's queue.
    with pytest.raises(SlotTakenError):
        await registry.ask(space.id, hold)
