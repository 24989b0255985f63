"""Webhook intake: events from a JetStream durable consumer → rows in the delivery log.

All nodes pull from one durable consumer, so each event is taken by one node at a time. The
node logs a delivery per endpoint that takes the event (one statement, keyed on endpoint and
webhook-id) and only then acks: a node that dies in between leaves the event to be
redelivered, and the key makes the second logging a no-op. Sending is the sender's job, so a
slow receiver never holds up the stream.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError

from cowork.clock import Clock
from cowork.config import Settings
from cowork.domain.webhooks import Copy, webhook_data
from cowork.realtime.bus import Bus
from cowork.realtime.channels import route_of
from cowork.realtime.pull import PullSubscription, fetch, pull_forever
from cowork.realtime.stream import STREAM, SUBJECTS, ensure_stream
from cowork.store import webhook_log
from cowork.store.webhook_log import EventIn
from cowork.tasks import Worker

log = logging.getLogger("cowork.webhooks")

BATCH = 64
FETCH_SECONDS = 2.0
ACK_WAIT_SECONDS = 30.0
NAK_DELAY = 2.0


def consumer_config(name: str) -> ConsumerConfig:
    return ConsumerConfig(
        name=name,
        durable_name=name,
        filter_subject=SUBJECTS,
        # A new consumer starts with new events: a first deploy sends no history.
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=BATCH * 16,
    )


def event_of(msg: Msg) -> EventIn | None:
    """The event as endpoints receive it, or None if webhooks are not fed from this copy."""
    envelope = json.loads(msg.data)
    route = route_of(msg.subject)
    copy = Copy.PERSONAL if route.user_id is not None else Copy.PUBLIC
    data = webhook_data(
        envelope.get("type", ""), copy, envelope.get("data") or {}, user_id=route.user_id
    )
    location_id = envelope.get("location_id")
    if data is None or not isinstance(location_id, int):
        return None
    data.setdefault("location_id", location_id)
    # The outbox row's id (scoped by the database): the same however often it is published.
    origin = (msg.headers or {}).get("Nats-Msg-Id") or f"seq-{msg.metadata.sequence.stream}"
    body = {"type": envelope["type"], "timestamp": envelope["at"], "data": data}
    return EventIn(
        message_id=f"msg_{origin}",
        event_type=envelope["type"],
        location_id=location_id,
        event_at=datetime.fromisoformat(envelope["at"]),
        payload=json.dumps(body, separators=(",", ":"), sort_keys=True),
    )


class WebhookIntake(Worker):
    name = "webhook-intake"

    def __init__(
        self, settings: Settings, clock: Clock, bus: Bus, *, logged: Callable[[], None]
    ) -> None:
        super().__init__()
        self._settings = settings
        self._consumer = settings.webhooks.consumer
        self._window = timedelta(seconds=settings.webhooks.retry_window_seconds)
        self._clock = clock
        self._bus = bus
        self._logged = logged  # tells the sender that new deliveries are due

    async def start(self) -> None:
        if not self._bus.is_connected:
            log.warning("no NATS: webhook deliveries wait until a node with NATS logs them")
            return
        # The durable exists from the first start on, so no event published later is missed.
        await self._ensure_consumer(self._bus.js)
        await super().start()

    async def _ensure_consumer(self, js: JetStreamContext) -> None:
        try:
            await js.add_consumer(STREAM, consumer_config(self._consumer))
        except BadRequestError as exc:
            # An existing durable made with other limits (an older version): keep using it
            # rather than refuse to start; its position in the stream is what matters.
            log.warning("webhook consumer %s kept as it is: %s", self._consumer, exc)

    async def run(self) -> None:
        await pull_forever(self._subscribe, self._read, log, "webhook intake")

    async def _read(self, psub: PullSubscription) -> None:
        for msg in await fetch(psub, BATCH, FETCH_SECONDS):
            await self._handle(msg)

    async def _subscribe(self) -> PullSubscription:
        js = self._bus.js
        await ensure_stream(js, self._settings)
        await self._ensure_consumer(js)
        return await js.pull_subscribe_bind(
            durable=self._consumer, stream=STREAM, name=self._consumer
        )

    async def _handle(self, msg: Msg) -> None:
        try:
            event = event_of(msg)
        except (ValueError, KeyError, TypeError):
            log.warning("webhooks: skipping a malformed event on %s", msg.subject)
            event = None
        try:
            if event is not None:
                now = self._clock.now()
                if await webhook_log.plan(event, now=now, give_up_at=now + self._window):
                    self._logged()
            await msg.ack()
        except Exception:
            log.exception("webhooks: event on %s not logged; redelivered later", msg.subject)
            with contextlib.suppress(Exception):
                await msg.nak(delay=NAK_DELAY)
