"""Faults inside a node: a lapsed hold the timer has not reached (on this node and on another
whose memory never saw it), an actor that crashes when PostgreSQL drops under it, an actor
that stops for idleness, and a crowd asking for one space's actor at the same instant."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from asyncpg.exceptions import PostgresConnectionError

from cowork.actors.base import ActorCrashedError, ActorState
from cowork.actors.commands import GetAvailability, PlaceHold, Requester
from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.clock import ManualClock
from cowork.domain.errors import SlotTakenError
from cowork.domain.slots import Slot
from cowork.metrics import Metrics
from cowork.store.db import close_orm, init_orm
from tests.factories import make_location, make_space, make_user
from tests.faults import FaultProxy, postgres_upstream, proxied_database_url
from tests.polling import poll

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)
SLOT = Slot(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2))


def registry_for(clock: ManualClock, *, idle: float | None = None, made: list | None = None):
    """A node's registry: its own actors and memory, sharing only the database."""

    def factory(space_id: int) -> SpaceActor:
        actor = SpaceActor(
            space_id,
            clock=clock,
            timing=SpaceTiming(hold_ttl=TTL, no_show_grace=timedelta(minutes=15)),
            mailbox_size=64,
            idle_seconds=idle,
            after_commit=lambda _: None,
        )
        if made is not None:
            made.append(actor)
        return actor

    return ActorRegistry(factory, Metrics())


async def events_of(db, booking_id: int, event_type: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM outbox WHERE user_id IS NULL AND type = $2 "
        "AND (payload->>'booking_id')::bigint = $1",
        booking_id,
        event_type,
    )


@pytest.fixture
async def place(orm):
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=1000)
    return space, await make_user(), await make_user()


@pytest.mark.parametrize("where", ["same node", "other node"])
async def test_a_lapsed_hold_the_timer_has_not_reached_yields_its_slot(place, db, where):
    space, first, second = place
    clock = ManualClock(NOW)
    node_a = registry_for(clock)
    node_b = registry_for(clock) if where == "other node" else node_a
    try:
        # The other node's actor is loaded before the hold: its memory never sees it.
        await node_b.ask(space.id, GetAvailability(SLOT))
        lapsed = await node_a.ask(space.id, PlaceHold(Requester(first.id), SLOT.start, SLOT.end))
        clock.advance(TTL + timedelta(seconds=1))  # the TTL passed; no timer runs here

        won = await node_b.ask(space.id, PlaceHold(Requester(second.id), SLOT.start, SLOT.end))
    finally:
        await node_a.stop()
        await node_b.stop()
    assert won.status.value == "held"
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1", lapsed.id) == "expired"
    assert await events_of(db, lapsed.id, "booking.expired") == 1


async def test_an_actor_crashed_by_a_lost_database_restarts_from_it(
    place, settings, database_url, db
):
    space, first, second = place
    pg = FaultProxy(postgres_upstream(database_url), name="postgres").start()
    await close_orm()
    await init_orm(replace(settings, database_url=proxied_database_url(database_url, pg)))
    made: list[SpaceActor] = []
    registry = registry_for(ManualClock(NOW), made=made)
    try:
        kept = await registry.ask(space.id, PlaceHold(Requester(first.id), SLOT.start, SLOT.end))
        pg.refuse()  # PostgreSQL goes away under the actor's next write
        later = SLOT.start + timedelta(hours=3)
        # The write fails: this message crashes the actor (the caller hears why).
        with pytest.raises(ActorCrashedError) as crashed:
            await registry.ask(
                space.id, PlaceHold(Requester(second.id), later, later + timedelta(hours=1))
            )
        assert isinstance(crashed.value.cause, ConnectionError | PostgresConnectionError)
        assert registry.crashes == 1 and made[0].state is ActorState.CRASHED
        pg.heal()

        # A fresh actor, loaded from the database: it knows the hold made before the crash.
        with pytest.raises(SlotTakenError) as refused:
            await registry.ask(space.id, PlaceHold(Requester(second.id), SLOT.start, SLOT.end))
        assert refused.value.extra["conflicts"] == [kept.id]
        assert registry.peek(space.id) is made[-1] is not made[0]
    finally:
        await registry.stop()
        await close_orm()
        await init_orm(settings)
        pg.stop()
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE space_id = $1", space.id) == 1


async def test_an_idle_actor_stops_and_the_next_ask_starts_another(place):
    space, _, _ = place
    made: list[SpaceActor] = []
    registry = registry_for(ManualClock(NOW), idle=0.1, made=made)
    try:
        await registry.ask(space.id, GetAvailability(SLOT))
        await poll(lambda: len(registry), lambda n: n == 0)
        assert made[0].state is ActorState.STOPPED and registry.crashes == 0
        await registry.ask(space.id, GetAvailability(SLOT))
        assert len(made) == 2 and made[1].state is ActorState.RUNNING
    finally:
        await registry.stop()


async def test_a_crowd_asking_at_once_meets_one_actor_per_space(place):
    space, _, _ = place
    other = await make_space(await make_location(), hourly_price_cents=0)
    made: list[SpaceActor] = []
    registry = registry_for(ManualClock(NOW), made=made)
    try:
        await asyncio.gather(
            *(registry.ask(sid, GetAvailability(SLOT)) for sid in [space.id, other.id] * 50)
        )
    finally:
        await registry.stop()
    assert sorted(a.space_id for a in made) == sorted([space.id, other.id])
