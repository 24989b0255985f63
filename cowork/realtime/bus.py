"""The NATS connection of a node, configured for a long-running service."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger("cowork.bus")


class Bus:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._nc: Client | None = None
        self._reconnect_listeners: list[Callable[[], None]] = []

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call listener (a plain function; schedule work, do not block) after each reconnect."""
        self._reconnect_listeners.append(listener)

    async def connect(self) -> None:
        async def on_error(exc: Exception) -> None:
            log.warning("nats error: %s", exc)

        async def on_disconnect() -> None:
            log.warning("nats disconnected; reconnecting")

        async def on_reconnect() -> None:
            log.info("nats reconnected")
            for listener in list(self._reconnect_listeners):
                try:
                    listener()
                except Exception:
                    log.exception("reconnect listener failed")

        # Reconnect forever: an outage must never leave a node without its bus.
        self._nc = await nats.connect(
            self.url,
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            ping_interval=10,
            max_outstanding_pings=3,
            allow_reconnect=True,
            connect_timeout=2,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
        )

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("bus not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except Exception:  # noqa: BLE001
                # NATS is down or reconnecting: nothing left to flush, just let go.
                with contextlib.suppress(Exception):
                    await self._nc.close()
        self._nc = None
