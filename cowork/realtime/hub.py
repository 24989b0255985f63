"""The per-node hub: one JetStream consumer per node fanned out to local clients.

Every client subscription is a Subscriber with a bounded queue. The hub never waits for a
client: an event that does not fit marks the subscriber overflowed and disconnects it (it comes
back with Last-Event-ID), so no client slows another. Replay reads the retained stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from cowork.realtime.stream import STREAM, SUBJECTS
from cowork.tasks import stop_task

log = logging.getLogger("cowork.realtime.hub")

REPLAY_READ_TIMEOUT = 5.0
MAX_RESUBSCRIBE_BACKOFF = 5.0


class SubscriberGoneError(Exception):
    """The subscriber was closed: overflowed (resume with Last-Event-ID) or node stopping."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_CLOSED = object()


class Subscriber:
    """One client's view of one channel: a bounded queue the hub fills and the client drains."""

    def __init__(
        self, channel: Channel, maxsize: int, on_overflow: Callable[[], None] | None
    ) -> None:
        self.channel = channel
        self.maxsize = maxsize
        self.overflowed = False
        self.closed_reason: str | None = None
        self._on_overflow = on_overflow
        # The bound is enforced in offer(); the spare slot is for the close marker.
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, delivery: Delivery) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self.maxsize:
            self.overflowed = True
            self.close("overflow")
            if self._on_overflow is not None:
                self._on_overflow()
            return
        self._queue.put_nowait(delivery)

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._queue.put_nowait(_CLOSED)

    async def next(self, timeout: float) -> Delivery | None:
        """The next event; None after `timeout` idle seconds (time for a heartbeat)."""
        if self.overflowed:
            raise SubscriberGoneError("overflow")
        try:
            item = self._queue.get_nowait()  # a busy stream skips the heartbeat timer entirely
        except asyncio.QueueEmpty:
            try:
                async with asyncio.timeout(timeout):
                    item = await self._queue.get()
            except TimeoutError:
                return None
        if item is _CLOSED:
            raise SubscriberGoneError(self.closed_reason or "closed")
        assert isinstance(item, Delivery)
        return item


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
        self._nats_sub: Subscription | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.last_seq = 0
        self.delivered = 0

    # -- local subscribers ------------------------------------------------------------------

    def subscribe(
        self, channel: Channel, on_overflow: Callable[[], None] | None = None
    ) -> Subscriber:
        sub = Subscriber(channel, self._settings.client_queue_size, on_overflow)
        subs = self._subscribers.setdefault(channel, set())
        subs.add(sub)
        self._changed(channel, len(subs))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._subscribers[sub.channel]
        sub.close("unsubscribed")
        self._changed(sub.channel, len(subs))

    def count(self, channel: Channel) -> int:
        return len(self._subscribers.get(channel, ()))

    def on_change(self, listener: Callable[[Channel, int], None]) -> None:
        """listener(channel, local subscriber count) after every subscribe/unsubscribe."""
        self._listeners.append(listener)

    def _changed(self, channel: Channel, n: int) -> None:
        for listener in self._listeners:
            listener(channel, n)

    def deliver(self, channel: Channel, delivery: Delivery) -> None:
        for sub in list(self._subscribers.get(channel, ())):
            sub.offer(delivery)
            if sub.overflowed:
                self.unsubscribe(sub)

    def close_all(self, reason: str = "shutdown") -> None:
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
