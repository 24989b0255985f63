"""TimerActor: sleeps until the next deadline, claims due bookings, hands them to their actors.

Deadlines live in `bookings.deadline_at`, never only in memory: a restart loses nothing, and
`FOR UPDATE SKIP LOCKED` plus a short lease means any number of nodes never double-process.
Reminders (cowork.actors.reminders) are deadlines too: each sweep fires the due ones, and the
timer sleeps until the earlier of the next booking deadline and the next reminder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cowork.actors.commands import DeadlineDue
from cowork.actors.registry import ActorRegistry
from cowork.actors.reminders import ReminderDeadlines
from cowork.clock import Clock
from cowork.metrics import Metrics
from cowork.store import bookings as store
from cowork.tasks import Worker

log = logging.getLogger("cowork.actors.timer")


@dataclass
class TimerStatus:
    last_sweep_at: datetime | None = None
    last_lag_seconds: float = 0.0
    processed: int = 0
    reminders_fired: int = 0
    next_deadline_at: datetime | None = None
    recent: deque[tuple[int, datetime]] = field(default_factory=lambda: deque(maxlen=50))


class TimerActor(Worker):
    name = "timer"

    def __init__(
        self,
        registry: ActorRegistry,
        clock: Clock,
        metrics: Metrics,
        *,
        max_sleep: float = 5.0,
        lease: timedelta = timedelta(seconds=30),
        reminders: ReminderDeadlines | None = None,
    ) -> None:
        super().__init__()
        self._registry = registry
        self._clock = clock
        self._metrics = metrics
        self._max_sleep = max_sleep
        self._lease = lease
        self._reminders = reminders
        self._wake = asyncio.Event()
        self._next: datetime | None = None
        self.status = TimerStatus()

    def wake(self, deadline: datetime | None = None) -> None:
        """A write set a deadline; wake up if it is earlier than the one we sleep towards."""
        if deadline is None:
            return
        if self._next is None or deadline < self._next:
            self._next = deadline
            self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
                await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer sweep failed; retrying")
                await self._sleep(cap=1.0)

    async def _sleep(self, cap: float | None = None) -> None:
        try:
            self._next = await self._next_deadline()
        except Exception:
            log.warning("timer could not read the next deadline", exc_info=True)
            self._next, cap = None, 1.0
        self.status.next_deadline_at = self._next
        delay = self._max_sleep if cap is None else cap
        if self._next is not None:
            delay = min(delay, max(0.0, (self._next - self._clock.now()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()

    async def _next_deadline(self) -> datetime | None:
        booking = await store.next_deadline_at()
        reminder = await self._reminders.next_at() if self._reminders is not None else None
        return min((at for at in (booking, reminder) if at is not None), default=None)

    async def sweep(self) -> int:
        """Claim every due deadline and let the space actors act on them; then fire the due
        reminders. Returns how many booking deadlines were handled."""
        now = self._clock.now()
        handled = 0
        while claimed := await store.claim_due(now, self._lease):
            results = await asyncio.gather(
                *(
                    self._registry.ask(space_id, DeadlineDue(booking_id))
                    for booking_id, space_id, _ in claimed
                ),
                return_exceptions=True,
            )
            lag = (self._clock.now() - min(due for _, _, due in claimed)).total_seconds()
            self.status.last_lag_seconds = lag
            self._metrics.timer_lag.set(lag)
            for (booking_id, _, _), result in zip(claimed, results, strict=True):
                if isinstance(result, BaseException):
                    log.warning("deadline of booking %s failed: %s", booking_id, result)
                elif result is not None:
                    handled += 1
                    self.status.recent.appendleft((booking_id, now))
            now = self._clock.now()
        await self._fire_reminders()
        self._metrics.timer_sweeps.inc()
        self.status.last_sweep_at = now
        self.status.processed += handled
        return handled

    async def _fire_reminders(self) -> None:
        if self._reminders is None:
            return
        try:
            self.status.reminders_fired += await self._reminders.fire()
        except Exception:  # a reminder must never hold up the booking deadlines
            log.exception("firing reminders failed; retried on the next sweep")
