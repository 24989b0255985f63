"""Wires the actor registry and the timer into the app's start and stop."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from nats.aio.msg import Msg
from sanic import Sanic

from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.actors.timer import TimerActor
from cowork.config import Settings

log = logging.getLogger("cowork.actors")


FORGET_SUBJECT = "ctl.actors.forget"


def _forget_handler(registry: ActorRegistry) -> Callable[[Msg], Awaitable[None]]:
    async def handle(msg: Msg) -> None:
        try:
            target = json.loads(msg.data)
            registry.forget(space_id=target.get("space_id"), location_id=target.get("location_id"))
        except (ValueError, AttributeError, TypeError):
            log.warning("ignoring malformed %s message", FORGET_SUBJECT)

    return handle


async def announce_change(
    app: Sanic, *, space_id: int | None = None, location_id: int | None = None
) -> None:
    """Tell every node's actors that a space or location changed (core NATS, best effort;
    actors also reload their rules after at most 30 s)."""
    target = {"space_id": space_id, "location_id": location_id}
    registry = getattr(app.ctx, "registry", None)
    bus = getattr(app.ctx, "bus", None)
    if bus is not None and bus.is_connected:
        await bus.nc.publish(FORGET_SUBJECT, json.dumps(target).encode())
    elif registry is not None:
        registry.forget(space_id=space_id, location_id=location_id)


def install(app: Sanic) -> None:
    @app.before_server_start
    async def start_actors(app: Sanic) -> None:
        settings: Settings = app.ctx.settings
        timing = SpaceTiming(
            hold_ttl=timedelta(seconds=settings.hold_ttl_seconds),
            no_show_grace=timedelta(seconds=settings.no_show_grace_seconds),
        )

        def after_commit(deadline: datetime | None) -> None:
            relay = getattr(app.ctx, "relay", None)
            if relay is not None:
                relay.wake()
            app.ctx.timer.wake(deadline)

        def factory(space_id: int) -> SpaceActor:
            return SpaceActor(
                space_id,
                clock=app.ctx.clock,
                timing=timing,
                mailbox_size=settings.mailbox_size,
                idle_seconds=settings.actor_idle_seconds,
                after_commit=after_commit,
            )

        app.ctx.registry = ActorRegistry(factory, app.ctx.metrics)
        app.ctx.metrics.mailbox_depth.set_function(app.ctx.registry.mailbox_depth)
        app.ctx.timer = TimerActor(
            app.ctx.registry,
            app.ctx.clock,
            app.ctx.metrics,
            max_sleep=settings.timer_max_sleep_seconds,
        )
        app.ctx.timer.start()
        if app.ctx.bus.is_connected:
            await app.ctx.bus.nc.subscribe(FORGET_SUBJECT, cb=_forget_handler(app.ctx.registry))

    @app.before_server_stop
    async def drain_actors(app: Sanic) -> None:
        app.ctx.draining = True
        await app.ctx.timer.stop()
        await app.ctx.registry.stop()
