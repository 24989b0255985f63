"""Wires the actor registry and the timer into the app's start and stop."""

from __future__ import annotations

from datetime import datetime, timedelta

from sanic import Sanic

from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.actors.timer import TimerActor
from cowork.config import Settings


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
        app.ctx.timer = TimerActor(
            app.ctx.registry,
            app.ctx.clock,
            app.ctx.metrics,
            max_sleep=settings.timer_max_sleep_seconds,
        )
        app.ctx.timer.start()

    @app.before_server_stop
    async def drain_actors(app: Sanic) -> None:
        app.ctx.draining = True
        await app.ctx.timer.stop()
        await app.ctx.registry.stop()
