"""Presence: how many clients watch a space and how many members are checking out on it.

Approximate and advisory; it never decides booking state. Each node counts its own space
subscribers and publishes the count on core NATS `presence.{space}` when it changes (coalesced)
and every `presence_interval_seconds`; every node keeps a table of counts per node that expire
after three intervals, so a node that dies drops out on its own. Checkout marks (a member on the
payment page) are broadcast the same way and expire after `checkout_ttl_seconds` unless renewed.
A node that starts asks the others for their counts (`presence.sync`). Space subscribers get a
`presence` event whenever the totals change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from cowork.clock import Clock
from cowork.config import Settings
from cowork.realtime.bus import Bus
from cowork.realtime.channels import Channel, ChannelKind, local_event
from cowork.realtime.hub import Hub
from cowork.store.models import Space
from cowork.tasks import Worker, stop_task

log = logging.getLogger("cowork.realtime.presence")

SUBJECT = "presence.{space}"
SYNC_SUBJECT = "presence.sync"
COALESCE_SECONDS = 0.05
EXPIRY_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class PresenceCounts:
    space_id: int
    watching: int
    checking_out: int

    def as_dict(self) -> dict[str, int]:
        return {
            "space_id": self.space_id,
            "watching": self.watching,
            "checking_out": self.checking_out,
        }


class Presence(Worker):
    name = "presence-tick"

    def __init__(
        self,
        bus: Bus,
        hub: Hub,
        settings: Settings,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._clock = clock
        self._bus = bus
        self._hub = hub
        self._settings = settings
        self._node = settings.node_id
        self._now = monotonic
        self._ttl = settings.presence_interval_seconds * EXPIRY_INTERVALS
        # space → node → (watching, expires); space → user → expires
        self._watching: dict[int, dict[str, tuple[int, float]]] = {}
        self._checkouts: dict[int, dict[int, float]] = {}
        self._pushed: dict[int, PresenceCounts] = {}
        self._locations: dict[int, int | None] = {}
        self._dirty_local: set[int] = set()
        self._dirty: set[int] = set()
        self._flush_task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None
        self._stopped = False

    async def start(self) -> None:
        self._sub = await self._bus.nc.subscribe("presence.*", cb=self._on_message)
        self._hub.on_change(self._on_local_change)
        await super().start()
        await self._bus.nc.publish(SYNC_SUBJECT, json.dumps({"node": self._node}).encode())

    async def stop(self) -> None:
        self._stopped = True
        await super().stop()
        await stop_task(self._flush_task)
        # Tell the others we are gone rather than letting our counts age out.
        with contextlib.suppress(Exception):
            for space_id in list(self._local_spaces()):
                await self._publish_watch(space_id, 0)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    # -- reading ------------------------------------------------------------------------------

    def counts(self, space_id: int) -> PresenceCounts:
        now = self._now()
        watching = sum(n for n, exp in self._watching.get(space_id, {}).values() if exp > now)
        checking = sum(1 for exp in self._checkouts.get(space_id, {}).values() if exp > now)
        return PresenceCounts(space_id, watching, checking)

    # -- checkouts ----------------------------------------------------------------------------

    async def checkout(self, space_id: int, user_id: int, active: bool) -> PresenceCounts:
        """Mark (or clear) a member checking out on a space, on every node."""
        ttl = float(self._settings.checkout_ttl_seconds) if active else 0.0
        self._apply_checkout(space_id, user_id, ttl)
        body = {"node": self._node, "space": space_id, "checkout": user_id, "ttl": ttl}
        await self._bus.nc.publish(SUBJECT.format(space=space_id), json.dumps(body).encode())
        self._mark_dirty(space_id, local=False)
        return self.counts(space_id)

    def _apply_checkout(self, space_id: int, user_id: int, ttl: float) -> None:
        marks = self._checkouts.setdefault(space_id, {})
        if ttl > 0:
            marks[user_id] = self._now() + ttl
        else:
            marks.pop(user_id, None)
            if not marks:
                del self._checkouts[space_id]

    # -- local counts -------------------------------------------------------------------------

    def _on_local_change(self, channel: Channel, count: int) -> None:
        if channel.kind is not ChannelKind.SPACE:
            return
        self._set_watch(channel.id, self._node, count, float("inf"))
        self._mark_dirty(channel.id, local=True)

    def _local_spaces(self) -> list[int]:
        return [s for s, nodes in self._watching.items() if self._node in nodes]

    def _set_watch(self, space_id: int, node: str, count: int, expires: float) -> None:
        nodes = self._watching.setdefault(space_id, {})
        if count > 0:
            nodes[node] = (count, expires)
        else:
            nodes.pop(node, None)
            if not nodes:
                del self._watching[space_id]

    def _mark_dirty(self, space_id: int, *, local: bool) -> None:
        self._dirty.add(space_id)
        if local:
            self._dirty_local.add(space_id)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._stopped:
            return
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush(), name="presence-flush")

    async def _flush(self) -> None:
        # Coalesce a burst of connects into one message and one event per space.
        while self._dirty or self._dirty_local:
            await asyncio.sleep(COALESCE_SECONDS)
            local, self._dirty_local = self._dirty_local, set()
            dirty, self._dirty = self._dirty, set()
            for space_id in local:
                own = self._watching.get(space_id, {}).get(self._node)
                with contextlib.suppress(Exception):
                    await self._publish_watch(space_id, own[0] if own else 0)
            for space_id in dirty:
                await self._push_if_changed(space_id)

    async def _publish_watch(self, space_id: int, count: int) -> None:
        body = {"node": self._node, "space": space_id, "watching": count, "ttl": self._ttl}
        await self._bus.nc.publish(SUBJECT.format(space=space_id), json.dumps(body).encode())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.presence_interval_seconds)
            for space_id in self._local_spaces():
                own = self._watching[space_id][self._node]
                with contextlib.suppress(Exception):
                    await self._publish_watch(space_id, own[0])
            self._expire()

    def _expire(self) -> None:
        now = self._now()
        for space_id, nodes in list(self._watching.items()):
            for node, (_, exp) in list(nodes.items()):
                if exp <= now:
                    self._set_watch(space_id, node, 0, 0)
                    self._mark_dirty(space_id, local=False)
        for space_id, marks in list(self._checkouts.items()):
            for user_id, exp in list(marks.items()):
                if exp <= now:
                    self._apply_checkout(space_id, user_id, 0)
                    self._mark_dirty(space_id, local=False)

    # -- other nodes --------------------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
            node = str(body["node"])
        except (ValueError, KeyError, TypeError):
            return
        if msg.subject == SYNC_SUBJECT:
            if node != self._node:
                self._dirty_local.update(self._local_spaces())
                self._schedule_flush()
            return
        try:
            space_id = int(body["space"])
            ttl = float(body["ttl"])
            if "checkout" in body:
                if node != self._node:
                    self._apply_checkout(space_id, int(body["checkout"]), ttl)
            elif node != self._node:
                self._set_watch(space_id, node, int(body["watching"]), self._now() + ttl)
        except (ValueError, KeyError, TypeError):
            return
        self._mark_dirty(space_id, local=False)

    async def _push_if_changed(self, space_id: int) -> None:
        counts = self.counts(space_id)
        if self._pushed.get(space_id, PresenceCounts(space_id, 0, 0)) == counts:
            return
        self._pushed[space_id] = counts
        if counts.watching == 0 and counts.checking_out == 0:
            self._pushed.pop(space_id, None)
        channel = Channel(ChannelKind.SPACE, space_id)
        if self._hub.count(channel) == 0:
            return
        location_id = await self._location_of(space_id)
        at = self._clock.now().isoformat()
        event = local_event("presence", at, location_id, space_id, counts.as_dict())
        self._hub.deliver(channel, event)

    async def _location_of(self, space_id: int) -> int | None:
        if space_id not in self._locations:
            space = await Space.get_or_none(id=space_id).only("id", "location_id")
            location_id = getattr(space, "location_id", None)
            self._locations[space_id] = int(location_id) if location_id is not None else None
        return self._locations[space_id]
