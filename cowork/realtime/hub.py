"""The per-node hub: one JetStream consumer per node fanned out to local clients.

Events due for fan-out together (one loop turn, or a short adaptive linger) are grouped by
channel into a `Burst` and written, encoded once, to every live subscriber's transport
(cowork.realtime.delivery). The hub never waits for a client: one whose transport holds too
many unsent bytes is cut off and comes back with Last-Event-ID, so no client slows another.
Replay reads the retained stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy

from cowork.clock import Clock
from cowork.config import Settings
from cowork.metrics import Metrics
from cowork.realtime.bus import Bus
from cowork.realtime.channels import Channel, Delivery, route_of
from cowork.realtime.delivery import Burst, Sink, Subscriber
from cowork.realtime.stream import STREAM, SUBJECTS
from cowork.tasks import stop_task

__all__ = ["Hub", "ReplayStart", "ReplayTooLongError", "Subscriber"]

log = logging.getLogger("cowork.realtime.hub")

REPLAY_READ_TIMEOUT = 5.0
MAX_RESUBSCRIBE_BACKOFF = 5.0
MIN_LINGER = 0.001  # a fan-out cheaper than this flushes at the end of the loop turn
MAX_LINGER = 0.025


@dataclass(frozen=True, slots=True)
class ReplayStart:
    """Where a replay starts: `resync` when events after `after` are no longer retained."""

    resync: bool
    head: int


class Hub:
    def __init__(self, bus: Bus, settings: Settings, metrics: Metrics, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._metrics = metrics
        self._subscribers: dict[Channel, set[Subscriber]] = {}
        self._listeners: list[Callable[[Channel, int], None]] = []
        self._event_listeners: list[Callable[[Channel], None]] = []
        self._batch: dict[Channel, list[Delivery]] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._linger = 0.0  # how long the next fan-out waits for company (see _flush)
        self._nats_sub: Subscription | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.last_seq = 0
        self.delivered = 0

    # -- local subscribers ------------------------------------------------------------------

    def subscribe(self, channel: Channel, sink: Sink) -> Subscriber:
        """A new subscriber, buffering until `go_live` (after its replay)."""
        sub = Subscriber(channel, sink, self._settings.client_queue_size, self._forget)
        subs = self._subscribers.setdefault(channel, set())
        subs.add(sub)
        self._changed(channel, len(subs))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close("unsubscribed")

    def _forget(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._subscribers[sub.channel]
        self._changed(sub.channel, len(subs))

    def count(self, channel: Channel) -> int:
        return len(self._subscribers.get(channel, ()))

    def on_change(self, listener: Callable[[Channel, int], None]) -> None:
        """listener(channel, local subscriber count) after every subscribe/unsubscribe."""
        self._listeners.append(listener)

    def on_event(self, listener: Callable[[Channel], None]) -> None:
        """listener(channel) for every stored event the node receives (read caches use it)."""
        self._event_listeners.append(listener)

    def _changed(self, channel: Channel, n: int) -> None:
        for listener in self._listeners:
            listener(channel, n)

    def deliver(self, channel: Channel, delivery: Delivery) -> None:
        """Send `delivery` to the channel's subscribers at the end of this loop turn."""
        if channel not in self._subscribers:
            return
        pending = self._batch.get(channel)
        if pending is None:
            self._batch[channel] = [delivery]
        else:
            pending.append(delivery)
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            if self._linger < MIN_LINGER:
                self._flush_handle = loop.call_soon(self._flush)
            else:
                self._flush_handle = loop.call_later(self._linger, self._flush)

    def _flush(self) -> None:
        """One burst per channel, encoded once, one write per subscriber.

        A fan-out that took long (thousands of subscribers) makes the next one wait as long
        (at most MAX_LINGER) so that the rest of the node (the relay feeding us, requests) runs
        in between and the events arriving meanwhile share one write per subscriber; a cheap
        one flushes at the end of the loop turn.
        """
        self._flush_handle = None
        began = time.perf_counter()
        batch, self._batch = self._batch, {}
        for channel, deliveries in batch.items():
            subs = self._subscribers.get(channel)
            if subs:
                burst = Burst(channel, deliveries)
                for sub in tuple(subs):
                    sub.offer(burst)
        self._linger = min(MAX_LINGER, time.perf_counter() - began)

    def close_all(self, reason: str = "shutdown") -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.close(reason)

    # -- the node's consumer ----------------------------------------------------------------

    async def start(self) -> None:
        """Consume from the stream's current end (new events only)."""
        info = await self._bus.js.stream_info(STREAM)
        self.last_seq = info.state.last_seq
        await self._subscribe_from(self.last_seq + 1)
        self._bus.on_reconnect(self._schedule_restart)

    async def stop(self) -> None:
        self.close_all()
        await stop_task(self._restart_task)
        await self._drop_nats_sub()

    async def _subscribe_from(self, seq: int) -> None:
        # Same as DeliverPolicy.NEW at start, but from a known position, so a restart after an
        # outage continues exactly after the last event this node delivered.
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(seq, 1)
        )
        self._nats_sub = await self._bus.js.subscribe(
            SUBJECTS, stream=STREAM, ordered_consumer=True, config=config, cb=self._on_message
        )

    async def _drop_nats_sub(self) -> None:
        sub, self._nats_sub = self._nats_sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _schedule_restart(self) -> None:
        # After a reconnect the server may have lost the ephemeral consumer: make a new one.
        if self._restart_task is None or self._restart_task.done():
            self._restart_task = asyncio.create_task(self._restart(), name="hub-restart")

    async def _restart(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._lock:
                    await self._drop_nats_sub()
                    await self._subscribe_from(self.last_seq + 1)
                log.info("hub resubscribed after seq %s", self.last_seq)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (NATS still settling: keep trying)
                log.warning("hub resubscribe failed: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_RESUBSCRIBE_BACKOFF, backoff * 2)

    async def _on_message(self, msg: Msg) -> None:
        try:
            seq = msg.metadata.sequence.stream
        except ValueError:  # not a JetStream message
            return
        if seq <= self.last_seq:
            return  # a consumer reset re-delivered it; every client already has it
        self.last_seq = seq
        try:
            delivery = Delivery.from_message(seq, msg.data)
        except ValueError:
            log.warning("undecodable event at seq %s on %s", seq, msg.subject)
            return
        self.delivered += 1
        self._observe_lag(delivery)
        for channel in route_of(msg.subject).channels():
            for listener in self._event_listeners:
                listener(channel)
            self.deliver(channel, delivery)

    def _observe_lag(self, delivery: Delivery) -> None:
        at = delivery.envelope.get("at")
        if not isinstance(at, str):
            return
        with contextlib.suppress(ValueError):
            lag = (self._clock.now() - datetime.fromisoformat(at)).total_seconds()
            self._metrics.delivery_lag.observe(max(lag, 0.0))

    # -- replay -------------------------------------------------------------------------------

    async def replay_start(self, after: int) -> ReplayStart:
        """Is everything after `after` still retained? `head` is the stream's last sequence."""
        state = (await self._bus.js.stream_info(STREAM)).state
        head = state.last_seq
        if after > head or after + 1 < state.first_seq:
            # A gap (expired events) or an id from another stream's lifetime: start over.
            return ReplayStart(resync=True, head=head)
        return ReplayStart(resync=False, head=head)

    async def replay(self, channel: Channel, after: int) -> AsyncIterator[Delivery]:
        """The channel's retained events with id > after, in order, up to the current end.

        Raises ReplayTooLongError when more than `replay_max_events` would be sent.
        """
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
        )
        sub = await self._bus.js.subscribe(
            channel.filter_subject, stream=STREAM, ordered_consumer=True, config=config
        )
        try:
            info = await sub.consumer_info()
            delivered = info.delivered.consumer_seq if info.delivered else None
            total = (info.num_pending or 0) + (delivered or 0)
            if total > self._settings.replay_max_events:
                raise ReplayTooLongError(total)
            seen = 0
            last = after
            while seen < total:
                msg = await sub.next_msg(timeout=REPLAY_READ_TIMEOUT)
                seq = msg.metadata.sequence.stream
                if seq <= last:
                    continue
                last = seq
                seen += 1
                yield Delivery.from_message(seq, msg.data)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


class ReplayTooLongError(Exception):
    """More events to replay than a client should receive; it gets a resync instead."""
