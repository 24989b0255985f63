"""SpaceActor: serialises one space's bookings and keeps its upcoming schedule in memory.

Memory makes availability reads and obvious conflicts free; PostgreSQL still decides every
write (exclusion constraint, conditional status updates), so a stale memory costs at most a
clean 409 and a reload, never a double booking. Each write is one transaction built by
`cowork.actions.bookings`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cowork.actions import bookings as write
from cowork.actions.bookings import Cancelled
from cowork.actors.base import ActorState
from cowork.actors.commands import (
    AcceptOffer,
    Approve,
    Cancel,
    CancelSeries,
    CheckIn,
    Command,
    Confirm,
    DeadlineDue,
    Decline,
    Forget,
    GetAvailability,
    JoinWaitlist,
    LeaveWaitlist,
    MarkNoShow,
    PlaceSeries,
    Release,
    Reschedule,
)
from cowork.actors.memory import Availability, SpaceMemory
from cowork.actors.space_approvals import ApprovalCommands
from cowork.actors.space_changes import ChangeCommands
from cowork.actors.space_core import SpaceCore, SpaceTiming
from cowork.actors.space_holds import HoldCommands
from cowork.actors.space_series import SeriesCommands
from cowork.actors.space_visits import VisitCommands
from cowork.actors.space_waitlist import WaitlistCommands
from cowork.clock import Clock
from cowork.domain.buffers import guarded
from cowork.domain.errors import (
    BookingChangedError,
    BookingNotFoundError,
    PaymentMismatchError,
    SlotTakenError,
    SpaceNotFoundError,
)
from cowork.domain.policy import SystemReason
from cowork.domain.pricing import price_cents
from cowork.domain.schedule import validate_slot
from cowork.domain.slots import Slot
from cowork.domain.states import (
    LIVE_STATUSES,
    BookingAction,
    BookingStatus,
    next_deadline,
    transition,
)
from cowork.store import bookings as store
from cowork.store.bookings import BookingRow, SlotConflict, SpaceRules
from cowork.store.db import db, retry_rolled_back
from cowork.store.group_commit import GroupCommit

__all__ = ["SpaceActor", "SpaceTiming"]
log = logging.getLogger("cowork.actors.space")
T = TypeVar("T")

RULES_MAX_AGE = timedelta(seconds=30)
ID_BLOCK = 32


class SpaceActor(
    HoldCommands,
    ApprovalCommands,
    WaitlistCommands,
    SeriesCommands,
    ChangeCommands,
    VisitCommands,
    SpaceCore,
):
    def __init__(
        self,
        space_id: int,
        *,
        clock: Clock,
        timing: SpaceTiming,
        mailbox_size: int,
        idle_seconds: float | None,
        after_commit: Callable[[datetime | None], None],
        writer: GroupCommit | None = None,
    ) -> None:
        super().__init__(mailbox_size, idle_seconds)
        self.name = f"space:{space_id}"
        self.space_id = space_id
        self.clock = clock
        self.timing = timing
        self._after_commit = after_commit
        self.writer = writer or GroupCommit()  # not started: writes each run alone
        self.memory = SpaceMemory()
        self._side_effects: list[BookingRow] = []  # rows a write changed on the side
        self._rules: SpaceRules | None = None
        self._rules_at: datetime | None = None
        self._ids: list[int] = []  # reserved booking ids, the next one last

    # -- state -----------------------------------------------------------------------------
    async def on_start(self) -> None:
        await self._load()

    async def _load(self) -> None:
        now = self.clock.now()
        self._rules, self._rules_at = await self._read_rules(), now
        self.memory.reset(await store.live_bookings(self.space_id, now), now)

    async def _read_rules(self) -> SpaceRules:
        rules = await store.load_rules(self.space_id)
        if rules is None:
            raise SpaceNotFoundError(f"space {self.space_id} does not exist")
        return rules

    async def rules(self) -> SpaceRules:
        now = self.clock.now()
        if self._rules is None or self._rules_at is None or now - self._rules_at > RULES_MAX_AGE:
            self._rules, self._rules_at = await self._read_rules(), now
        return self._rules

    @property
    def location_id(self) -> int | None:
        return self._rules.location_id if self._rules else None

    # -- dispatch --------------------------------------------------------------------------
    async def handle(self, message: Command) -> Any:
        match message:
            case Confirm():
                return await self._confirm(message)
            case Release(booking_id):
                return await self._release(booking_id)
            case Cancel():
                return await self._cancel(message)
            case CheckIn():
                return await self._check_in(message)
            case Reschedule():
                return await self._reschedule(message)
            case MarkNoShow(requester, booking_id, idem):
                return await self._mark_no_show(requester, booking_id, idem)
            case DeadlineDue(booking_id):
                return await self._deadline_due(booking_id)
            case GetAvailability(window):
                return await self._availability(window)
            case Forget():
                await self._load()
                return None
            case Approve() | Decline():
                return await self._decide(message)
            case JoinWaitlist() | LeaveWaitlist() | AcceptOffer():
                return await self._waitlist(message)
            case PlaceSeries() | CancelSeries():
                return await self._series(message)
        raise TypeError(f"unknown message {message!r}")

    # -- writes ----------------------------------------------------------------------------
    async def _next_id(self) -> int:
        await self._reserve_ids(1)
        return self._ids.pop()

    async def _reserve_ids(self, count: int) -> None:
        """Have `count` ids at hand (a drained run of holds reserves them in one query)."""
        if len(self._ids) < count:
            more = await store.next_booking_ids(max(ID_BLOCK, count - len(self._ids)))
            self._ids = more[::-1] + self._ids  # popped from the end: lowest first

    def _judge(
        self, slot: Slot, rules: SpaceRules, now: datetime, moving: int | None = None
    ) -> int:
        """Validate a wanted slot against the rules and memory; its price if acceptable."""
        validate_slot(
            slot,
            now=now,
            tz=rules.tz,
            hours=rules.hours,
            closures=rules.closures,
            limits=rules.limits,
        )
        self.memory.raise_if_taken(guarded(slot, rules.buffers), now, ignore=moving)
        return price_cents(
            slot, tz=rules.tz, hourly_cents=rules.hourly_cents, daily_cents=rules.daily_cents
        )

    async def _confirm(self, cmd: Confirm) -> BookingRow:
        """Payment succeeded. A lapsed hold is revived if its slot is still free."""
        row = await self._get(cmd.booking_id)
        if (cmd.amount_cents, cmd.currency.upper()) != (row.price_cents, row.currency):
            raise PaymentMismatchError(
                "the amount paid is not the booking's price",
                price_cents=row.price_cents,
                paid_cents=cmd.amount_cents,
            )
        if row.status is BookingStatus.EXPIRED:
            self.memory.raise_if_taken(guarded(row.slot, row.buffers), self.clock.now())
        return await self._apply(row, BookingAction.CONFIRM, expires_at=None)

    async def _release(self, booking_id: int) -> BookingRow:
        row = await self._get(booking_id)
        reason = SystemReason.PAYMENT_FAILED.value
        event = {"reason": reason}
        return await self._apply(row, BookingAction.RELEASE, event=event, cancel_reason=reason)

    async def _deadline_due(self, booking_id: int) -> BookingRow | None:
        row = await store.get_booking(booking_id)
        if row is None or row.space_id != self.space_id:
            return None
        deadline = next_deadline(
            row.status,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            expires_at=row.expires_at,
            no_show_grace=self.timing.no_show_grace,
            turnaround=row.buffers.after,
        )
        if deadline is None or deadline.at > self.clock.now():
            async with in_transaction() as conn:  # claimed early, or nothing is due any more
                await write.restore_deadline(conn, row, deadline.at if deadline else None)
            return None
        if deadline.action is BookingAction.DECLINE:
            return await self._decline_lapsed(row)
        return await self._apply(row, deadline.action, missing_ok=True)

    # -- the one transition path -----------------------------------------------------------
    async def _apply(
        self,
        row: BookingRow,
        action: BookingAction,
        *,
        idem: int | None = None,
        missing_ok: bool = False,
        event: dict[str, Any] | None = None,
        event_type: str | None = None,
        **changes: Any,
    ) -> Any:
        status = transition(row.status, action)
        expires_at = changes.get("expires_at", row.expires_at)
        deadline = self._deadline(status, row.starts_at, row.ends_at, expires_at, row.buffers.after)

        async def run(conn: BaseDBAsyncClient) -> BookingRow | None:
            updated = await write.change_status(
                conn,
                row,
                status,
                deadline=deadline,
                idem=idem,
                event=event,
                event_type=event_type,
                **changes,
            )
            if updated is None and not missing_ok:
                raise BookingChangedError("the booking changed meanwhile; retry")
            return updated

        return await self._commit(run, frees=status not in LIVE_STATUSES)

    async def _commit(
        self,
        run: Callable[[BaseDBAsyncClient], Awaitable[T]],
        *,
        atomic: bool = False,
        frees: bool = False,
    ) -> T:
        """Run one write: a single statement needs no BEGIN/COMMIT (`atomic`). A write that
        `frees` time offers it to the space's waitlist in the same transaction. Run again
        whole if PostgreSQL aborts it to break a deadlock (`store.db.retry_rolled_back`)."""

        async def attempt() -> T:
            self._side_effects = []
            if atomic:
                return await run(db())
            async with in_transaction() as conn:
                if frees:  # the space's offer turn first, before any member's quota lock
                    await self._take_offer_turn(conn)
                result = await run(conn)
                if frees:
                    await self._offer_freed(conn)
                return result

        try:
            result = await retry_rolled_back(attempt)
        except SlotConflict:
            await self._load()  # another node won; memory was stale
            raise SlotTakenError("another booking holds this slot") from None
        changed = result.booking if isinstance(result, Cancelled) else result
        rows = [*self._side_effects, *([changed] if isinstance(changed, BookingRow) else [])]
        await self._remember(rows)
        for row in rows:
            self._after_commit(row.deadline_at)
        if not rows:
            self._after_commit(None)
        return result

    async def _remember(self, rows: list[BookingRow]) -> None:
        """Take in what a commit changed: freed slots first, then the ones taken (an offer
        takes what a cancel freed; a new hold what a lapsed one left)."""
        now = self.clock.now()
        try:
            for row in sorted(rows, key=lambda r: r.status in LIVE_STATUSES):
                self.memory.remember(row, now)
        except SlotTakenError:  # committed already: memory was stale, never the database
            await self._load()

    def _changed(self, rows: list[BookingRow]) -> None:
        """Rows a write changed on the side (lapsed holds it expired), remembered on commit."""
        self._side_effects.extend(rows)

    # -- reads -----------------------------------------------------------------------------
    async def _availability(self, window: Slot) -> Availability:
        return self.memory.availability(window, await self.rules(), self.clock.now())

    def fresh_rules(self) -> SpaceRules | None:
        """Rules a read may use without the mailbox: loaded, young, and not forgotten."""
        if self.state is not ActorState.RUNNING or self.memory.stale or self._rules_at is None:
            return None
        if self.clock.now() - self._rules_at > RULES_MAX_AGE:
            return None
        return self._rules

    # -- helpers ---------------------------------------------------------------------------
    async def _get(self, booking_id: int) -> BookingRow:
        row = await store.get_booking(booking_id)
        if row is None or row.space_id != self.space_id:
            raise BookingNotFoundError(booking_id)
        return row

    def _deadline(
        self,
        status: BookingStatus,
        starts: datetime,
        ends: datetime,
        expires: datetime | None,
        after: timedelta = timedelta(0),
    ) -> datetime | None:
        grace = self.timing.no_show_grace
        due = next_deadline(
            status,
            starts_at=starts,
            ends_at=ends,
            expires_at=expires,
            no_show_grace=grace,
            turnaround=after,
        )
        return due.at if due else None
