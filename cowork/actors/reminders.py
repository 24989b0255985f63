"""The timer's second kind of deadline: reminders ("starts in N minutes", "check-in is open").

Booking deadlines are a column (`bookings.deadline_at`); reminders are derived from the
booking's start and the member's and location's leads (cowork.store.reminders), so the timer
asks for the next one and fires the due ones on each sweep, like the booking deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cowork.actions import reminders as actions
from cowork.actions.effects import Effects
from cowork.store import reminders as store

PRUNE_EVERY = timedelta(hours=1)
KEEP = timedelta(days=2)  # fired marks of starts this long past are forgotten


class ReminderDeadlines:
    def __init__(
        self,
        effects: Callable[[], Effects],
        *,
        grace: timedelta,
        node_id: str,
        lookahead: timedelta = timedelta(hours=1),
    ) -> None:
        self._effects = effects  # the node, once built (it owns the timer that owns this)
        self._grace = grace
        self._node_id = node_id
        self._lookahead = lookahead
        self._pruned_at: datetime | None = None

    async def fire(self) -> int:
        """Fire every due reminder (in batches); how many this node fired."""
        fx = self._effects()
        fired = 0
        while True:
            n = await actions.fire_due(fx, grace=self._grace, node=self._node_id)
            fired += n
            if n < actions.BATCH:
                break
        await self._prune(fx.clock.now())
        return fired

    async def next_at(self) -> datetime | None:
        now = self._effects().clock.now()
        return await store.next_due_at(now, self._grace, self._lookahead)

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        await store.prune(now - KEEP)
