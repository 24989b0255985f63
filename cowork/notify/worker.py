"""The delivery worker: personal events from JetStream → pushes and e-mails, on every node.

All nodes pull from one durable consumer, so each event is handled by one node at a time. For
an event the worker logs one row per target (device or e-mail) under a unique (event, target)
key, claims the rows due now, sends them, records the outcomes, and only then acks. A node
killed before the ack gets the event redelivered to another node, which finds the rows
already logged (and sent): nothing goes out twice. Held (quiet hours) and retried rows are
sent by a periodic pass over the log. Nothing here is on a booking's path: the relay published
the event after commit, and a slow provider only fills its own lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from cowork.clock import Clock
from cowork.config import Settings
from cowork.domain.notifications import KIND_OF_EVENT
from cowork.metrics import Metrics
from cowork.notify.channels import Lane, PushSender
from cowork.notify.dispatch import Dispatcher
from cowork.notify.mailer import Mailer
from cowork.notify.metrics import NotifyMetrics
from cowork.notify.planner import EMAIL, plan_deliveries
from cowork.notify.providers import build_mailer, build_senders
from cowork.notify.render import BookingEvent, zone_of
from cowork.realtime.bus import Bus
from cowork.realtime.channels import route_of
from cowork.realtime.pull import PullSubscription, fetch, pull_forever
from cowork.realtime.stream import STREAM, ensure_stream
from cowork.store import notify as store
from cowork.store import notify_log
from cowork.store.notify_log import DeliveryRow, EventRef
from cowork.tasks import stop_task

log = logging.getLogger("cowork.notify")

PERSONAL = "cowork.user.>"
FETCH_SECONDS = 2.0
MAX_DELIVER = 10  # an event that fails this often is dropped (logged); rows already logged stay
NAK_DELAY = 5.0
PRUNE_EVERY = timedelta(hours=1)


class MalformedEventError(ValueError):
    """An event this worker can never handle (not JSON, no booking fields)."""


def consumer_config(settings: Settings) -> ConsumerConfig:
    n = settings.notify
    return ConsumerConfig(
        name=n.consumer,
        durable_name=n.consumer,
        filter_subject=PERSONAL,
        # A new consumer starts with new events: a first deploy does not push a day of history.
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=n.ack_wait_seconds,
        max_deliver=MAX_DELIVER,
        max_ack_pending=n.max_in_flight * 16,
    )


class DeliveryWorker:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        bus: Bus,
        metrics: Metrics,
        *,
        senders: Sequence[PushSender] | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self._settings = settings
        self._n = settings.notify
        self._clock = clock
        self._bus = bus
        self.metrics = NotifyMetrics(metrics)
        chosen = list(senders) if senders is not None else build_senders(settings, clock)
        self._senders = {s.kind: s for s in chosen}
        self._mailer = mailer if mailer is not None else build_mailer(settings)
        self._lanes = {kind: Lane(self._n.concurrency) for kind in self._senders}
        if self._mailer is not None:
            self._lanes[EMAIL] = Lane(self._n.concurrency)
        self._dispatcher = Dispatcher(
            self._n,
            clock,
            self.metrics,
            self._senders,
            self._mailer,
            reset_key=settings.reset_key,
        )
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[Any]] = set()
        self._room = asyncio.Event()  # set when an event finished and the window has room
        self._events_in_flight = 0
        self._capacity = min(self._n.max_in_flight, sum(x.limit for x in self._lanes.values()))
        self._behind = False  # rows were left for lack of a free lane: a freed slot wakes the pass
        self._last_prune = clock.now() - PRUNE_EVERY

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._lanes)

    @property
    def running(self) -> list[str]:
        """The names of its loops still running (the due pass; the consumer, with NATS)."""
        return [task.get_name() for task in self._loops if not task.done()]

    async def start(self) -> None:
        for sender in self._senders.values():
            await sender.open()
        self._loops = [asyncio.create_task(self._due_loop(), name="notify-due")]
        if not self._lanes:
            log.info("no push or e-mail channel configured: the notify consumer stays off")
            return
        if not self._settings.nats_url:
            # Deliveries logged directly (password resets) still go out; events cannot come.
            log.warning("no NATS: the notify worker sends logged deliveries only")
            return
        if self._bus.is_connected:  # the durable exists from now on: no event is missed
            await self._bus.js.add_consumer(STREAM, consumer_config(self._settings))
        self._loops.append(asyncio.create_task(self._consume(), name="notify-consume"))

    async def quiesce(self) -> None:
        """Stop taking events and passes; let attempts under way finish (bounded).

        An event whose attempts do not finish in time is left unacked: JetStream gives it to
        another node, which finds what was already sent in the log.
        """
        for task in self._loops:
            await stop_task(task)
        self._loops = []
        if self._work:
            await asyncio.wait(set(self._work), timeout=self._n.send_timeout_seconds + 1)
        for task in list(self._work):
            await stop_task(task)

    async def stop(self) -> None:
        """Quiesce, then close the channels."""
        await self.quiesce()
        for sender in self._senders.values():
            await sender.close()

    def wake(self) -> None:
        """Look for held and retried deliveries now (the clock moved, or a lane freed up)."""
        self._wake.set()

    # -- events from JetStream -----------------------------------------------------------------

    async def _consume(self) -> None:
        await pull_forever(self._subscribe, self._read, log, "notify consumer")

    async def _read(self, psub: PullSubscription) -> None:
        # No more events in flight than the lanes have slots: under a backlog deliveries then
        # go out at once instead of bouncing through the log for a later pass.
        room = self._capacity - self._events_in_flight
        if room <= 0:
            self._room.clear()
            await self._room.wait()
            return
        for msg in await fetch(psub, room, FETCH_SECONDS):
            self._events_in_flight += 1
            self._spawn(self._handle(msg), name="notify-event")
        self.metrics.in_flight.set(self._events_in_flight)

    async def _subscribe(self) -> PullSubscription:
        js = self._bus.js
        await ensure_stream(js, self._settings)
        await js.add_consumer(STREAM, consumer_config(self._settings))
        return await js.pull_subscribe_bind(
            durable=self._n.consumer, stream=STREAM, name=self._n.consumer
        )

    async def _handle(self, msg: Msg) -> None:
        try:
            await self.handle_event(msg)
            await msg.ack()
        except asyncio.CancelledError:
            raise
        except MalformedEventError as exc:
            # Another delivery would fail the same way: tell JetStream to drop it now.
            log.warning("notify: dropping malformed event on %s: %s", msg.subject, exc)
            with contextlib.suppress(Exception):
                await msg.term()
        except Exception:
            log.exception("notify: event on %s failed; redelivered later", msg.subject)
            with contextlib.suppress(Exception):
                await msg.nak(delay=NAK_DELAY)
        finally:
            self._events_in_flight -= 1
            self.metrics.in_flight.set(self._events_in_flight)
            self._room.set()

    async def handle_event(self, msg: Msg) -> None:
        """Log the event's deliveries, send the ones due now; returns when they are recorded."""
        try:
            envelope = json.loads(msg.data)
        except ValueError as exc:
            raise MalformedEventError("not JSON") from exc
        if not isinstance(envelope, dict) or envelope.get("type") not in KIND_OF_EVENT:
            return  # most personal events (held, checked in …) notify nobody: no database work
        self.metrics.events.inc()
        seq = msg.metadata.sequence.stream
        envelope["id"] = seq
        user_id = route_of(msg.subject).user_id
        if user_id is None:
            return
        who = await store.recipient(user_id)
        if who is None:
            return
        try:
            event = BookingEvent.parse(envelope)
        except (KeyError, ValueError, TypeError) as exc:
            raise MalformedEventError(f"{type(exc).__name__}: {exc}") from exc
        now = self._clock.now()
        zone = await self._zone(who, event)
        rows = plan_deliveries(event, who, now, zone, self.channels)
        if not rows:
            return
        key = (msg.headers or {}).get("Nats-Msg-Id") or f"seq-{seq}"
        ref = EventRef(key, seq, event.type, user_id, envelope)
        claimed, duplicates = await notify_log.plan(
            ref,
            rows,
            now=now,
            lease_until=now + timedelta(seconds=self._n.lease_seconds),
            node=self._settings.node_id,
            channels=sorted(self.channels),
        )
        if duplicates:
            self.metrics.duplicates.inc(duplicates)
        self.metrics.deferred.inc(sum(1 for r in rows if r.due_at > now and not r.skipped))
        for row in rows:
            if row.skipped:
                self.metrics.deliveries.labels(row.channel, "skipped").inc()
        started = await self._start(claimed, who)
        if started:
            await asyncio.gather(*started)

    async def _zone(self, who: store.Recipient, event: BookingEvent) -> ZoneInfo:
        """The member's zone for quiet hours: theirs if set, else the booking's location's."""
        if who.prefs.timezone:
            return ZoneInfo(who.prefs.timezone)
        if who.prefs.quiet_hours is None:
            return ZoneInfo("UTC")  # no quiet hours: the zone decides nothing
        return zone_of(await store.place(event.space_id, event.location_id))

    # -- held and retried deliveries -------------------------------------------------------------

    async def _due_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_due()
                await self._prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify: pass over due deliveries failed; retrying")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._n.poll_seconds):
                    await self._wake.wait()

    async def run_due(self) -> int:
        """Claim due rows for lanes with room and start them; returns how many started."""
        open_lanes = [kind for kind, lane in self._lanes.items() if lane.free > 0]
        room = sum(self._lanes[k].free for k in open_lanes)
        now = self._clock.now()
        rows = await notify_log.claim_due(
            now,
            now + timedelta(seconds=self._n.lease_seconds),
            self._settings.node_id,
            open_lanes,
            room,
        )
        if len(rows) < room:
            self._behind = False
        return len(await self._start(rows))

    async def _start(
        self, rows: Sequence[DeliveryRow], who: store.Recipient | None = None
    ) -> list[asyncio.Task[Any]]:
        started: list[asyncio.Task[Any]] = []
        busy: list[int] = []
        for row in rows:
            lane = self._lanes.get(row.channel)
            if lane is None or not lane.try_take():
                self._behind = True
                busy.append(row.id)
                self.metrics.busy.labels(row.channel).inc()
                continue
            started.append(self._spawn(self._deliver(row, lane, who), name="notify-delivery"))
        await notify_log.release(busy)
        return started

    async def _deliver(self, row: DeliveryRow, lane: Lane, who: store.Recipient | None) -> None:
        try:
            await self._dispatcher.deliver(row, who)
        finally:
            lane.give_back()
            if self._behind:
                self.wake()

    def _spawn(self, coro: Any, *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return task

    async def _prune(self) -> None:
        now = self._clock.now()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        await notify_log.prune(now - timedelta(seconds=self._n.retention_seconds))
