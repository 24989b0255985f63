"""The node's services: built once by the app factory, passed explicitly, supervised in order.

`Services` is the one typed object every layer receives (handlers through the request, actions
as their `Effects`). `Services.stages()` declares the start order; the supervisor stops in
reverse, and `quiesce` (before the HTTP server stops) lets go of clients and finishes queued
commands first:

    start: database → bus → hub → relay → presence → notices → control → writer → actors →
           timer → refunds → webhooks → notify
    quiesce (reverse): notify takes no more events, sends under way finish · refunds · timer
                       stops · actors finish mailboxes · presence leaves · hub ends every stream
    stop (reverse): push and mail channels close · webhook intake, sender · refund retrier,
                    gateway · writer sends what is left · relay publishes what is left · hub ·
                    bus · db
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nats.aio.msg import Msg

from cowork.accounts.epochs import UserStates
from cowork.accounts.throttle import AttemptThrottle
from cowork.actions import webhooks as webhook_actions
from cowork.actors.registry import ActorRegistry
from cowork.actors.reminders import ReminderDeadlines
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.actors.timer import TimerActor
from cowork.clock import Clock
from cowork.config import Settings
from cowork.integrations.webhooks import Webhooks
from cowork.metrics import Metrics
from cowork.notify.worker import DeliveryWorker
from cowork.payments.context import Payments
from cowork.payments.refunds import RefundRetrier
from cowork.realtime.bus import Bus
from cowork.realtime.changes import ReadCache
from cowork.realtime.hub import Hub
from cowork.realtime.notices import ExpiringNotices
from cowork.realtime.presence import Presence
from cowork.realtime.relay import OutboxRelay
from cowork.realtime.stream import ensure_stream
from cowork.store.db import DatabaseProbe, close_orm, init_orm
from cowork.store.group_commit import GroupCommit
from cowork.supervisor import Stage, Supervisor

log = logging.getLogger("cowork.services")

FORGET_SUBJECT = "ctl.actors.forget"
RESET_MAILS_PER_HOUR = 3  # to one inbox, per node: a stranger cannot flood someone's mail
USERS_SUBJECT = "ctl.users.changed"


@dataclass
class Services:
    settings: Settings
    clock: Clock
    metrics: Metrics
    bus: Bus
    relay: OutboxRelay
    writer: GroupCommit  # new holds of every space, grouped into shared statements
    registry: ActorRegistry
    timer: TimerActor
    notices: ExpiringNotices
    payments: Payments
    refunds: RefundRetrier
    login_throttle: AttemptThrottle  # per address and e-mail
    address_throttle: AttemptThrottle  # failed logins per address, whatever the e-mail
    registration_throttle: AttemptThrottle  # registrations per address
    reset_throttle: AttemptThrottle  # password reset requests per address
    reset_mail_throttle: AttemptThrottle  # reset e-mails per e-mail address (then silent)
    users: UserStates
    reads: ReadCache  # floor and catalogue answers, good until the node hears of a change
    webhooks: Webhooks
    hub: Hub | None = None  # None while NATS is not connected: streams answer 503
    presence: Presence | None = None
    notify: DeliveryWorker | None = None  # None without a push or e-mail channel (or turned off)
    draining: bool = False
    database: DatabaseProbe = field(default_factory=DatabaseProbe)  # readiness
    supervisor: Supervisor = field(default_factory=Supervisor)

    # -- what actions tell the node (cowork.actions.effects.Effects) ---------------------------
    def committed(self, deadline: datetime | None = None) -> None:
        """Rows were committed: publish their events now; wake the timer for a new deadline."""
        self.reads.changed()
        self.relay.wake()
        self.timer.wake(deadline)
        self.refunds.wake()

    def deliveries_queued(self) -> None:
        """Deliveries were logged directly (not from an event): look for due ones now."""
        if self.notify is not None:
            self.notify.wake()

    async def users_changed(self, user_id: int) -> None:
        self.users.invalidate(user_id)
        if self.bus.is_connected:
            await self.bus.nc.publish(USERS_SUBJECT, str(user_id).encode())

    async def rules_changed(
        self, *, space_id: int | None = None, location_id: int | None = None
    ) -> None:
        """A space or location changed: actors on every node reload (this one at once)."""
        self.reads.changed()
        self.registry.forget(space_id=space_id, location_id=location_id)
        if self.bus.is_connected:
            target = {"space_id": space_id, "location_id": location_id}
            await self.bus.nc.publish(FORGET_SUBJECT, json.dumps(target).encode())

    # -- lifecycle -------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        return [
            Stage("database", start=lambda: init_orm(self.settings), stop=self._close_database),
            Stage("bus", start=self._connect_bus, stop=self.bus.close),
            Stage("hub", start=self._start_hub, quiesce=self._close_streams, stop=self._stop_hub),
            Stage("relay", start=self._start_relay, stop=self._stop_relay),
            Stage("presence", start=self._start_presence, quiesce=self._stop_presence),
            Stage("notices", start=self.notices.start, stop=self.notices.stop),
            Stage("control", start=self._listen_control),
            Stage("writer", start=self._start_writer, stop=self.writer.stop),
            Stage("actors", quiesce=self.registry.stop),
            Stage("timer", start=self.timer.start, quiesce=self.timer.stop),
            Stage("refunds", start=self.refunds.start, stop=self._stop_refunds),
            Stage("webhooks", start=self.webhooks.start, stop=self.webhooks.stop),
            Stage(
                "notify",
                start=self._start_notify,
                quiesce=self._quiesce_notify,
                stop=self._stop_notify,
            ),
        ]

    async def start(self) -> None:
        await self.supervisor.start(self.stages())

    async def quiesce(self) -> None:
        self.draining = True
        await self.supervisor.quiesce()

    async def stop(self) -> None:
        await self.supervisor.stop()

    async def _close_database(self) -> None:
        self.database.stop()
        await close_orm()

    async def _connect_bus(self) -> None:
        if self.settings.nats_url:
            await self.bus.connect()

    async def _start_hub(self) -> None:
        if not self.bus.is_connected:
            log.warning("no NATS: events stay in the outbox and streams are unavailable")
            return
        await ensure_stream(self.bus.js, self.settings)
        hub = Hub(self.bus, self.settings, self.metrics, self.clock)
        hub.on_event(lambda _channel: self.reads.changed())  # another node's commit, too
        await hub.start()
        self.hub = hub

    async def _close_streams(self) -> None:
        if self.hub is not None:
            self.hub.close_all("shutdown")

    async def _stop_hub(self) -> None:
        if self.hub is not None:
            await self.hub.stop()

    async def _start_relay(self) -> None:
        if self.bus.is_connected:
            await self.relay.start()
            self.bus.on_reconnect(self.relay.reconnected)

    async def _stop_relay(self) -> None:
        await self.relay.stop()
        if self.hub is not None:
            # Whatever the actors committed while draining leaves with this node.
            await self.relay.final_drain()

    async def _start_presence(self) -> None:
        if self.hub is not None:
            self.presence = Presence(self.bus, self.hub, self.settings, self.clock)
            await self.presence.start()

    async def _stop_presence(self) -> None:
        if self.presence is not None:
            await self.presence.stop()

    async def _start_writer(self) -> None:
        if self.settings.group_commit_inflight > 0:
            await self.writer.start()

    async def _listen_control(self) -> None:
        """Core NATS messages between nodes: actors to reload, users whose tokens changed."""
        if self.bus.is_connected:
            await self.bus.nc.subscribe(FORGET_SUBJECT, cb=self._on_forget)
            await self.bus.nc.subscribe(USERS_SUBJECT, cb=self._on_user_changed)

    async def _on_user_changed(self, msg: Msg) -> None:
        try:
            self.users.invalidate(int(msg.data))
        except ValueError:
            log.warning("ignoring malformed %s message", USERS_SUBJECT)

    async def _on_forget(self, msg: Msg) -> None:
        try:
            target = json.loads(msg.data)
            self.registry.forget(
                space_id=target.get("space_id"), location_id=target.get("location_id")
            )
        except (ValueError, AttributeError, TypeError):
            log.warning("ignoring malformed %s message", FORGET_SUBJECT)

    async def _start_notify(self) -> None:
        """The delivery worker, on every node that has a channel (docs/push.md)."""
        n = self.settings.notify
        if not n.worker or not n.any_channel:
            why = "turned off (COWORK_NOTIFY_WORKER)" if n.any_channel else "no channel configured"
            log.info("notifications: this node delivers nothing (%s)", why)
            return
        worker = DeliveryWorker(self.settings, self.clock, self.bus, self.metrics)
        await worker.start()
        self.notify = worker

    async def _quiesce_notify(self) -> None:
        if self.notify is not None:
            await self.notify.quiesce()

    async def _stop_notify(self) -> None:
        if self.notify is not None:
            await self.notify.stop()

    async def _stop_refunds(self) -> None:
        await self.refunds.stop()
        await self.payments.close()


def build_services(settings: Settings, clock: Clock) -> Services:
    """Every service of one node, wired and not yet started (no I/O here)."""
    metrics = Metrics()
    bus = Bus(settings.nats_url, name=f"cowork-{settings.node_id}")
    relay = OutboxRelay(bus, settings, metrics)
    timing = SpaceTiming(
        hold_ttl=timedelta(seconds=settings.hold_ttl_seconds),
        no_show_grace=timedelta(seconds=settings.no_show_grace_seconds),
        presence_key=settings.presence_key,
    )
    writer = GroupCommit(
        linger=settings.group_commit_linger_ms / 1000,
        max_inflight=max(1, settings.group_commit_inflight),
        metrics=metrics,
    )
    services: Services | None = None  # bound below; actors are made only once it is

    def node() -> Services:
        assert services is not None
        return services

    def space_actor(space_id: int) -> SpaceActor:
        assert services is not None
        return SpaceActor(
            space_id,
            clock=clock,
            timing=timing,
            mailbox_size=settings.mailbox_size,
            idle_seconds=settings.actor_idle_seconds,
            after_commit=services.committed,
            writer=writer,
        )

    registry = ActorRegistry(space_actor, metrics)
    metrics.mailbox_depth.set_function(registry.mailbox_depth)
    reminders = ReminderDeadlines(node, grace=timing.no_show_grace, node_id=settings.node_id)
    timer = TimerActor(
        registry,
        clock,
        metrics,
        max_sleep=settings.timer_max_sleep_seconds,
        lease=timedelta(seconds=settings.timer_lease_seconds),
        reminders=reminders,
    )
    payments = Payments(settings, registry, relay.wake)

    async def disable_endpoint(endpoint_id: int, reason: str) -> None:
        assert services is not None
        await webhook_actions.disable_endpoint(services, endpoint_id, reason)

    webhooks = Webhooks(settings, clock, bus, metrics, disable=disable_endpoint)
    services = Services(
        settings=settings,
        clock=clock,
        metrics=metrics,
        bus=bus,
        relay=relay,
        writer=writer,
        registry=registry,
        timer=timer,
        notices=ExpiringNotices(settings, relay, clock),
        payments=payments,
        refunds=RefundRetrier(payments),
        login_throttle=AttemptThrottle(settings.login_attempts_per_minute),
        address_throttle=AttemptThrottle(settings.login_failures_per_address_per_minute),
        registration_throttle=AttemptThrottle(
            settings.registrations_per_address_per_hour, window_seconds=3600.0
        ),
        reset_throttle=AttemptThrottle(
            settings.password_resets_per_address_per_hour, window_seconds=3600.0
        ),
        reset_mail_throttle=AttemptThrottle(RESET_MAILS_PER_HOUR, window_seconds=3600.0),
        users=UserStates(),
        reads=ReadCache(clock, timedelta(seconds=settings.read_cache_seconds)),
        webhooks=webhooks,
    )
    return services
