"""One attempt at one delivery: render, send through its channel, record what happened."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from datetime import datetime

from cowork.clock import Clock
from cowork.config import NotifySettings
from cowork.domain.delivery import Outcome, RetryPolicy, next_attempt
from cowork.domain.notifications import MailTemplate, normalize_locale
from cowork.notify.account_mail import ACCOUNT_EVENTS, account_message
from cowork.notify.channels import PushSender, SendResult
from cowork.notify.mailer import Mailer
from cowork.notify.mails import booking_mail, compose
from cowork.notify.metrics import NotifyMetrics
from cowork.notify.planner import EMAIL
from cowork.notify.render import BookingEvent, render_push
from cowork.store import notify as store
from cowork.store import notify_log
from cowork.store.notify import Recipient
from cowork.store.notify_log import DeliveryRow

log = logging.getLogger("cowork.notify")

PLACE_CACHE_SECONDS = 60.0
PLACE_CACHE_SIZE = 4096


class Dispatcher:
    def __init__(
        self,
        settings: NotifySettings,
        clock: Clock,
        metrics: NotifyMetrics,
        senders: Mapping[str, PushSender],
        mailer: Mailer | None,
        *,
        reset_key: bytes = b"",
    ) -> None:
        self._s = settings
        self._clock = clock
        self._metrics = metrics
        self._senders = senders
        self._mailer = mailer
        self._reset_key = reset_key  # account e-mails derive their links' tokens with it
        self._policy = RetryPolicy(max_attempts=settings.max_attempts)
        self._jitter = random.Random()
        self._places: dict[tuple[int | None, int | None], tuple[float, store.Place | None]] = {}

    async def deliver(self, row: DeliveryRow, who: Recipient | None = None) -> Outcome:
        """Attempt `row` once (it is claimed by this node) and record the outcome. `who` is
        the member as the event's handler just read them (else they are read here)."""
        now = self._clock.now()
        if row.stale_at is not None and now >= row.stale_at:
            await notify_log.record(
                row.id, state="skipped", now=now, attempted=False, reason="stale"
            )
            self._metrics.deliveries.labels(row.channel, "skipped").inc()
            return Outcome.FAILED
        try:
            result = await self._attempt(row, now, who or await store.recipient(row.user_id))
        except Exception as exc:  # a bad event must cost its retries, never the worker
            log.exception("delivery %s (%s) failed before sending", row.id, row.event_type)
            result = SendResult(Outcome.RETRY, detail=f"internal: {exc!r}"[:500])
        await self._record(row, result)
        return result.outcome

    async def _attempt(self, row: DeliveryRow, now: datetime, who: Recipient | None) -> SendResult:
        if who is None or not who.active:
            return SendResult(Outcome.FAILED, detail="no such member")
        if row.event_type in ACCOUNT_EVENTS:
            return await self._account_mail(row, who, now)
        event = BookingEvent.parse(row.envelope)
        place = await self._place(event.space_id, event.location_id)
        if row.channel == EMAIL:
            return await self._mail(row, event, place, who, now)
        device = next((d for d in who.devices if d.id == row.device_id), None)
        if device is None:
            return SendResult(Outcome.GONE, detail="device removed")
        sender = self._senders.get(row.channel)
        if sender is None:
            return SendResult(Outcome.FAILED, detail="channel not configured")
        message = render_push(
            event,
            place,
            normalize_locale(device.locale or who.prefs.locale),
            public_url=self._s.public_url,
            now=now,
            stale_at=row.stale_at,
            default_ttl=self._s.default_ttl_seconds,
        )
        return await sender.send(device, message)

    async def _mail(
        self,
        row: DeliveryRow,
        event: BookingEvent,
        place: store.Place | None,
        who: Recipient,
        now: datetime,
    ) -> SendResult:
        if self._mailer is None:
            return SendResult(Outcome.FAILED, detail="e-mail not configured")
        template = MailTemplate(row.target.split(":", 1)[1])
        mail = booking_mail(
            template,
            event,
            place,
            name=who.name,
            locale=who.prefs.locale,
            public_url=self._s.public_url,
            now=now,
        )
        return await self._mailer.send(
            compose(mail, to=who.email, sender=self._mailer.sender, now=now)
        )

    async def _account_mail(self, row: DeliveryRow, who: Recipient, now: datetime) -> SendResult:
        if self._mailer is None:
            return SendResult(Outcome.FAILED, detail="e-mail not configured")
        message = await account_message(
            row.event_type,
            row.envelope.get("data") or {},
            who,
            key=self._reset_key,
            public_url=self._s.public_url,
            sender=self._mailer.sender,
            now=now,
        )
        if message is None:
            return SendResult(Outcome.FAILED, detail="no longer valid (used or expired)")
        return await self._mailer.send(message)

    async def _place(self, space_id: int | None, location_id: int | None) -> store.Place | None:
        """Names and zone of a booking's place, cached briefly (a rename shows within a minute)."""
        key = (space_id, location_id)
        hit = self._places.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        if len(self._places) >= PLACE_CACHE_SIZE:
            self._places.clear()
        place = await store.place(space_id, location_id)
        self._places[key] = (time.monotonic() + PLACE_CACHE_SECONDS, place)
        return place

    async def _record(self, row: DeliveryRow, result: SendResult) -> None:
        now = self._clock.now()
        attempts = row.attempts + 1
        self._metrics.attempts.labels(row.channel, result.outcome.value).inc()
        state = result.outcome.value
        due: datetime | None = None
        reason: str | None = None
        if result.outcome is Outcome.RETRY:
            due = next_attempt(
                attempts,
                now,
                self._policy,
                retry_after=result.retry_after,
                jitter=self._jitter.random(),
            )
            if due is None or (row.stale_at is not None and due >= row.stale_at):
                state, reason = Outcome.FAILED.value, "gave_up"
            else:
                state = "pending"
        await notify_log.record(
            row.id,
            state=state,
            now=now,
            attempted=True,
            due_at=due if state == "pending" else None,
            status=result.status,
            error=result.detail or None,
            reason=reason,
        )
        if state != "pending":
            self._metrics.deliveries.labels(row.channel, state).inc()
        if result.outcome is Outcome.SENT and attempts == 1:
            self._observe_latency(row, now)
        elif (
            result.outcome is Outcome.GONE
            and row.device_id is not None
            and await store.forget_device(row.device_id)
        ):
            self._metrics.devices_removed.labels(row.channel).inc()
            log.info("device %s is gone (%s); forgotten", row.device_id, result.status)

    def _observe_latency(self, row: DeliveryRow, now: datetime) -> None:
        at = row.envelope.get("at")
        if not isinstance(at, str):
            return
        try:
            elapsed = (now - datetime.fromisoformat(at)).total_seconds()
        except ValueError:
            return
        if elapsed >= 0:
            self._metrics.latency.labels(row.channel).observe(elapsed)
