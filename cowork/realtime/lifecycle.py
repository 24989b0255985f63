"""Wires the outbox relay, the hub, presence and the expiring-soon notices into start and stop.

Start (after the ORM and the bus): stream → hub → relay → presence → notices.
Stop: clients are told to go first (before_server_stop), the loops end after the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sanic import Sanic

from cowork.config import Settings
from cowork.realtime.bus import Bus
from cowork.realtime.hub import Hub
from cowork.realtime.notices import ExpiringNotices
from cowork.realtime.presence import Presence
from cowork.realtime.relay import OutboxRelay
from cowork.realtime.stream import ensure_stream

log = logging.getLogger("cowork.realtime")

FINAL_DRAIN_SECONDS = 3.0


def install(app: Sanic[Any, Any]) -> None:
    @app.before_server_start
    async def start_realtime(app: Sanic[Any, Any]) -> None:
        settings: Settings = app.ctx.settings
        bus: Bus = app.ctx.bus
        app.ctx.relay = OutboxRelay(bus, settings, app.ctx.metrics)
        app.ctx.hub = None
        app.ctx.presence = None
        app.ctx.notices = ExpiringNotices(settings, app.ctx.relay, getattr(app.ctx, "clock", None))
        app.ctx.notices.start()
        if not bus.is_connected:
            log.warning("no NATS: events stay in the outbox and streams are unavailable")
            return
        await ensure_stream(bus.js, settings)
        hub = Hub(bus, settings, app.ctx.metrics)
        await hub.start()
        app.ctx.hub = hub
        app.ctx.relay.start()
        bus.on_reconnect(app.ctx.relay.reconnected)
        presence = Presence(bus, hub, settings)
        await presence.start()
        app.ctx.presence = presence

    @app.before_server_stop
    async def release_clients(app: Sanic[Any, Any]) -> None:
        if app.ctx.presence is not None:
            await app.ctx.presence.stop()
        if app.ctx.hub is not None:
            app.ctx.hub.close_all("shutdown")

    @app.after_server_stop
    async def stop_realtime(app: Sanic[Any, Any]) -> None:
        await app.ctx.notices.stop()
        relay: OutboxRelay = app.ctx.relay
        await relay.stop()
        if app.ctx.hub is not None:
            # Whatever the actors committed while draining leaves with this node.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(FINAL_DRAIN_SECONDS):
                    await relay.drain()
            await app.ctx.hub.stop()
