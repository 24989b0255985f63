"""The webhook sender: claims due deliveries from the log, signs and POSTs them, records each
attempt, schedules the retry or gives up, and disables an endpoint that failed a whole window.

Every node runs one. A claim is a lease (`FOR UPDATE SKIP LOCKED`, next_attempt_at pushed to
now + lease), so nodes never send the same delivery at once and a node that dies mid-send
only delays it: deliveries are at least once, and receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter

from cowork.clock import Clock
from cowork.config import WebhookSettings
from cowork.domain.webhooks import DeliveryStatus, RetryPolicy, disables_endpoint
from cowork.integrations.signing import signed_headers
from cowork.integrations.transport import DeliveryFailedError, Transport
from cowork.metrics import Metrics
from cowork.store import webhook_log
from cowork.store.webhook_log import DueDelivery, Outcome
from cowork.tasks import Worker, stop_task

log = logging.getLogger("cowork.webhooks")

PRUNE_EVERY = timedelta(hours=1)
DisableEndpoint = Callable[[int, str], Awaitable[None]]


def retry_policy(settings: WebhookSettings) -> RetryPolicy:
    return RetryPolicy(
        base=timedelta(seconds=settings.retry_base_seconds),
        cap=timedelta(seconds=settings.retry_max_seconds),
        window=timedelta(seconds=settings.retry_window_seconds),
    )


class WebhookSender(Worker):
    name = "webhook-sender"

    def __init__(
        self,
        settings: WebhookSettings,
        clock: Clock,
        transport: Transport,
        metrics: Metrics,
        *,
        node_id: str,
        disable: DisableEndpoint,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._clock = clock
        self._transport = transport
        self._node_id = node_id
        self._disable = disable
        self._policy = retry_policy(settings)
        self._wake = asyncio.Event()
        self._free = settings.concurrency
        self._work: set[asyncio.Task[Any]] = set()
        self._last_prune = clock.now() - PRUNE_EVERY
        self.attempts = Counter(
            "cowork_webhook_attempts_total",
            "Webhook requests made, by outcome",
            ["outcome"],
            registry=metrics.registry,
        )

    def wake(self) -> None:
        """New deliveries were logged (or replayed): look now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; attempts under way get the request timeout to finish (an attempt cut
        short is not recorded, and its lease makes it due again)."""
        await super().stop()
        if self._work:
            await asyncio.wait(set(self._work), timeout=self._settings.timeout_seconds + 1)
        for task in list(self._work):
            await stop_task(task)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            delay = self._settings.poll_seconds
            try:
                started = await self.send_due()
                await self._prune()
                if not started:  # else every finished attempt wakes the loop
                    now = self._clock.now()
                    delay = wake_at(await webhook_log.next_due(), now, delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhooks: pass over due deliveries failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def send_due(self) -> int:
        """Claim as many due deliveries as there are free slots and start them."""
        now = self._clock.now()
        lease = now + timedelta(seconds=self._settings.lease_seconds)
        rows = await webhook_log.claim_due(now, lease, self._free)
        for row in rows:
            self._free -= 1
            task = asyncio.create_task(self._attempt(row), name="webhook-attempt")
            self._work.add(task)
            task.add_done_callback(self._work.discard)
        return len(rows)

    async def _attempt(self, row: DueDelivery) -> None:
        try:
            outcome = await self._send(row)
            last_success = await webhook_log.record(row, outcome)
            self.attempts.labels(outcome.status.value).inc()
            began = row.give_up_at - self._policy.window
            if outcome.status is DeliveryStatus.FAILED and disables_endpoint(last_success, began):
                await self._disable(row.endpoint_id, "failing")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhooks: delivery %s could not be recorded; retried later", row.id)
        finally:
            self._free += 1
            self._wake.set()

    async def _send(self, row: DueDelivery) -> Outcome:
        at = self._clock.now()
        headers = signed_headers(row.secret, row.message_id, row.payload, at)
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            code = await self._transport.post(row.url, row.payload.encode(), headers)
        except DeliveryFailedError as exc:
            error = str(exc)
        duration = int((time.perf_counter() - started) * 1000)
        if code is not None and 200 <= code < 300:
            return Outcome(at, DeliveryStatus.SUCCEEDED, code, None, duration, self._node_id)
        error = error or f"HTTP {code}"
        retry = self._policy.next_attempt(row.attempts + 1, at, row.give_up_at, random.random())
        status = DeliveryStatus.PENDING if retry is not None else DeliveryStatus.FAILED
        return Outcome(at, status, code, error, duration, self._node_id, retry)

    async def _prune(self) -> None:
        now = self._clock.now()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        await webhook_log.prune(now - timedelta(days=self._settings.retention_days))


def wake_at(next_due: datetime | None, now: datetime, poll: float) -> float:
    """Seconds until the next due delivery, bounded by the poll interval."""
    if next_due is None:
        return poll
    return max(0.0, min(poll, (next_due - now).total_seconds()))
