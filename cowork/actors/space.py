"""SpaceActor: serialises one space's bookings and keeps its upcoming schedule in memory.

Memory makes availability reads and obvious conflicts free; PostgreSQL still decides every
write (exclusion constraint, conditional status updates), so a stale memory costs at most a
clean 409 and a reload, never a double booking.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cowork.actors.base import Actor
from cowork.actors.clock import Clock
from cowork.actors.commands import (
    SYSTEM,
    Cancel,
    CheckIn,
    Command,
    Confirm,
    DeadlineDue,
    Forget,
    GetAvailability,
    MarkNoShow,
    PlaceHold,
    Release,
    Requester,
    Reschedule,
)
from cowork.domain.checkin import ensure_check_in_allowed
from cowork.domain.errors import (
    BookingChangedError,
    BookingNotFoundError,
    ForbiddenError,
    NoShowTooEarlyError,
    RescheduleCostsMoreError,
    SlotTakenError,
    SpaceInactiveError,
    SpaceNotFoundError,
)
from cowork.domain.policy import refund_percent
from cowork.domain.pricing import price_cents
from cowork.domain.schedule import open_intervals, validate_slot
from cowork.domain.slots import Slot
from cowork.domain.states import (
    LIVE_STATUSES,
    BookingAction,
    BookingStatus,
    next_deadline,
    transition,
)
from cowork.domain.timeline import Timeline, free_intervals
from cowork.store import bookings as store
from cowork.store.bookings import BookingRow, SlotConflict, SpaceRules
from cowork.store.db import db
from cowork.store.events import emit_booking_event

log = logging.getLogger("cowork.actors.space")
T = TypeVar("T")

RULES_MAX_AGE = timedelta(seconds=30)
ID_BLOCK = 32
EVENT_FOR_STATUS = {
    BookingStatus.HELD: "booking.held",
    BookingStatus.CONFIRMED: "booking.confirmed",
    BookingStatus.CHECKED_IN: "booking.checked_in",
    BookingStatus.COMPLETED: "booking.completed",
    BookingStatus.CANCELLED: "booking.cancelled",
    BookingStatus.EXPIRED: "booking.expired",
    BookingStatus.NO_SHOW: "booking.no_show",
}


@dataclass(frozen=True, slots=True)
class SpaceTiming:
    hold_ttl: timedelta
    no_show_grace: timedelta


@dataclass(frozen=True, slots=True)
class Cancelled:
    booking: BookingRow
    refund_percent: int


@dataclass(frozen=True, slots=True)
class Availability:
    busy: list[tuple[Slot, str]]
    free: list[Slot]


class SpaceActor(Actor[Command]):
    def __init__(
        self,
        space_id: int,
        *,
        clock: Clock,
        timing: SpaceTiming,
        mailbox_size: int,
        idle_seconds: float | None,
        after_commit: Callable[[datetime | None], None],
    ) -> None:
        super().__init__(mailbox_size, idle_seconds)
        self.name = f"space:{space_id}"
        self.space_id = space_id
        self.clock = clock
        self.timing = timing
        self._after_commit = after_commit
        self.timeline = Timeline()
        self._holds: dict[int, datetime] = {}  # held booking id → expires_at
        self._status: dict[int, BookingStatus] = {}
        self._rules: SpaceRules | None = None
        self._rules_at: datetime | None = None
        self._pending: list[BookingRow] = []  # rows changed as a side effect of a write
        self._ids: list[int] = []  # reserved booking ids

    # -- state -----------------------------------------------------------------------------
    async def on_start(self) -> None:
        await self._load()

    async def _load(self) -> None:
        rules = await store.load_rules(self.space_id)
        if rules is None:
            raise SpaceNotFoundError(f"space {self.space_id} does not exist")
        self._rules, self._rules_at = rules, self.clock.now()
        self.timeline = Timeline()
        self._holds.clear()
        self._status.clear()
        for row in await store.live_bookings(self.space_id, self.clock.now()):
            self._remember(row)

    async def rules(self) -> SpaceRules:
        now = self.clock.now()
        if self._rules is None or self._rules_at is None or now - self._rules_at > RULES_MAX_AGE:
            fresh = await store.load_rules(self.space_id)
            if fresh is None:
                raise SpaceNotFoundError(f"space {self.space_id} does not exist")
            self._rules, self._rules_at = fresh, now
        return self._rules

    @property
    def location_id(self) -> int | None:
        return self._rules.location_id if self._rules else None

    def _remember(self, row: BookingRow) -> None:
        self.timeline.remove(row.id)
        self._holds.pop(row.id, None)
        self._status.pop(row.id, None)
        if row.status in LIVE_STATUSES and row.ends_at > self.clock.now():
            self.timeline.add(row.id, Slot(row.starts_at, row.ends_at))
            self._status[row.id] = row.status
            if row.status is BookingStatus.HELD and row.expires_at is not None:
                self._holds[row.id] = row.expires_at

    def idle_ok(self) -> bool:
        return True

    # -- dispatch --------------------------------------------------------------------------
    async def handle(self, message: Command) -> Any:
        match message:
            case PlaceHold():
                return await self._place_hold(message)
            case Confirm(booking_id):
                return await self._confirm(booking_id)
            case Release(booking_id):
                return await self._apply(
                    SYSTEM, booking_id, BookingAction.RELEASE, cancel_reason="payment_failed"
                )
            case Cancel(requester, booking_id, reason, idem):
                return await self._cancel(requester, booking_id, reason, idem)
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
        raise TypeError(f"unknown message {message!r}")

    # -- writes ----------------------------------------------------------------------------
    async def _place_hold(self, cmd: PlaceHold) -> BookingRow:
        rules = await self.rules()
        if not rules.active:
            raise SpaceInactiveError("this space is not bookable")
        now = self.clock.now()
        slot = Slot(cmd.start, cmd.end)
        price = self._judge(slot, rules, now)
        status = BookingStatus.HELD if price > 0 else BookingStatus.CONFIRMED
        expires_at = now + self.timing.hold_ttl if status is BookingStatus.HELD else None
        deadline = self._deadline(status, slot.start, slot.end, expires_at)
        assert cmd.requester.user_id is not None

        row = BookingRow(
            id=await self._next_id(),
            space_id=self.space_id,
            location_id=rules.location_id,
            user_id=cmd.requester.user_id,
            starts_at=slot.start,
            ends_at=slot.end,
            status=status,
            price_cents=price,
            currency=rules.currency,
            expires_at=expires_at,
            deadline_at=deadline,
            checked_in_at=None,
            cancel_reason=None,
            created_at=now,
        )
        stale = self._stale_holds(slot, now)

        async def write(conn: BaseDBAsyncClient) -> BookingRow:
            if stale:  # rare: a lapsed hold the timer has not reached yet stands in the way
                await self._expire_stale_holds(conn, now)
            return await store.insert_booking(
                conn, row, EVENT_FOR_STATUS[status], cmd.idempotency_id
            )

        try:
            return await self._commit(write, single_statement=not stale)
        except SlotTakenError:
            # Another node's hold, lapsed but not yet expired by any timer: expire it and retry.
            if stale or not self._stale_holds(slot, now):
                raise
            stale = True
            return await self._commit(write)

    async def _next_id(self) -> int:
        if not self._ids:
            self._ids = await store.next_booking_ids(ID_BLOCK)
        return self._ids.pop(0)

    def _stale_holds(self, slot: Slot, now: datetime) -> bool:
        return any(self._holds.get(b, now) < now for b in self.timeline.conflicts(slot))

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
        self._raise_if_taken(slot, now, ignore=moving)
        return price_cents(
            slot, tz=rules.tz, hourly_cents=rules.hourly_cents, daily_cents=rules.daily_cents
        )

    def _raise_if_taken(self, slot: Slot, now: datetime, ignore: int | None = None) -> None:
        for booking_id in self.timeline.conflicts(slot, ignore=ignore):
            expires_at = self._holds.get(booking_id)
            if expires_at is None or expires_at > now:
                raise SlotTakenError("another booking holds this slot", conflicts=[booking_id])

    async def _expire_stale_holds(self, conn: BaseDBAsyncClient, now: datetime) -> None:
        """A write also expires its space's lapsed holds, so a late timer never blocks it."""
        for booking_id in await store.stale_holds(conn, self.space_id, now):
            row = await store.update_booking(
                conn,
                booking_id,
                [BookingStatus.HELD],
                status=BookingStatus.EXPIRED,
                deadline_at=None,
            )
            if row is not None:
                await emit_booking_event(conn, "booking.expired", row.facts())
                self._pending.append(row)

    async def _confirm(self, booking_id: int) -> BookingRow:
        """Payment succeeded. A lapsed hold is revived if its slot is still free."""
        row = await self._get(booking_id)
        if row.status is BookingStatus.EXPIRED:
            self._raise_if_taken(Slot(row.starts_at, row.ends_at), self.clock.now())
        return await self._apply(SYSTEM, booking_id, BookingAction.CONFIRM, expires_at=None)

    async def _cancel(
        self, requester: Requester, booking_id: int, reason: str, idem: int | None
    ) -> Cancelled:
        row = await self._get(booking_id)
        self._authorize(requester, row)
        rules = await self.rules()
        percent = refund_percent(rules.policy, starts_at=row.starts_at, now=self.clock.now())
        if requester.is_staff_of(row.location_id) and requester.user_id != row.user_id:
            percent = 100  # staff cancellations never penalise the member
        cancelled = await self._apply(
            requester,
            booking_id,
            BookingAction.CANCEL,
            idem=idem,
            cancel_reason=reason,
            refund_percent=percent,
        )
        return Cancelled(cancelled, percent)

    async def _check_in(self, cmd: CheckIn) -> BookingRow:
        row = await self._get(cmd.booking_id)
        kiosk_ok = cmd.requester.kiosk_location_id == row.location_id
        if not kiosk_ok:
            self._authorize(cmd.requester, row)
        rules = await self.rules()
        ensure_check_in_allowed(
            row.status,
            row.starts_at,
            now=self.clock.now(),
            early=timedelta(minutes=rules.limits.check_in_early_minutes),
            grace=self.timing.no_show_grace,
        )
        return await self._apply(
            cmd.requester,
            cmd.booking_id,
            BookingAction.CHECK_IN,
            idem=cmd.idempotency_id,
            checked_in_at=self.clock.now(),
        )

    async def _mark_no_show(
        self, requester: Requester, booking_id: int, idem: int | None
    ) -> BookingRow:
        row = await self._get(booking_id)
        if not requester.is_staff_of(row.location_id):
            raise ForbiddenError("only staff of this location can mark a no-show")
        if self.clock.now() < row.starts_at + self.timing.no_show_grace:
            raise NoShowTooEarlyError("a no-show can be marked only after start + grace")
        return await self._apply(requester, booking_id, BookingAction.MARK_NO_SHOW, idem=idem)

    async def _reschedule(self, cmd: Reschedule) -> BookingRow:
        """Move a booking within its space; the old slot is released only if the new is won."""
        row = await self._get(cmd.booking_id)
        self._authorize(cmd.requester, row)
        transition(row.status, BookingAction.RESCHEDULE)
        rules = await self.rules()
        now = self.clock.now()
        slot = Slot(cmd.start, cmd.end)
        price = self._judge(slot, rules, now, moving=row.id)
        if row.status is BookingStatus.CONFIRMED and price > row.price_cents:
            raise RescheduleCostsMoreError(
                "a paid booking can move only to a slot that costs no more",
                price_cents=price,
                paid_cents=row.price_cents,
            )
        if row.status is BookingStatus.CONFIRMED and row.price_cents > 0:
            price = row.price_cents  # what was paid stays the price; no partial refunds here
        deadline = self._deadline(row.status, slot.start, slot.end, row.expires_at)

        async def write(conn: BaseDBAsyncClient) -> BookingRow:
            await self._expire_stale_holds(conn, now)
            moved = await store.update_booking(
                conn,
                row.id,
                [row.status],
                starts_at=slot.start,
                ends_at=slot.end,
                price_cents=price,
                deadline_at=deadline,
            )
            if moved is None:
                raise BookingChangedError("the booking changed meanwhile; retry")
            await emit_booking_event(
                conn,
                "booking.rescheduled",
                moved.facts(),
                previous_start=row.starts_at.isoformat(),
                previous_end=row.ends_at.isoformat(),
            )
            await self._store_response(conn, cmd.idempotency_id, 200, moved)
            return moved

        return await self._commit(write)

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
        )
        if deadline is None or deadline.at > self.clock.now():
            # Claimed early, or nothing is due any more: put the true deadline back.
            async with in_transaction() as conn:
                await store.update_booking(
                    conn, row.id, [row.status], deadline_at=deadline.at if deadline else None
                )
            return None
        return await self._apply(SYSTEM, booking_id, deadline.action, missing_ok=True)

    # -- the one transition path -----------------------------------------------------------
    async def _apply(
        self,
        requester: Requester,
        booking_id: int,
        action: BookingAction,
        *,
        idem: int | None = None,
        missing_ok: bool = False,
        refund_percent: int | None = None,
        **changes: Any,
    ) -> Any:
        row = await self._get(booking_id)
        new_status = transition(row.status, action)
        deadline = self._deadline(
            new_status, row.starts_at, row.ends_at, changes.get("expires_at", row.expires_at)
        )
        extra = {} if refund_percent is None else {"refund_percent": refund_percent}
        if "cancel_reason" in changes:
            extra["reason"] = changes["cancel_reason"]

        async def write(conn: BaseDBAsyncClient) -> BookingRow | None:
            updated = await store.update_booking(
                conn, row.id, [row.status], status=new_status, deadline_at=deadline, **changes
            )
            if updated is None:
                if missing_ok:
                    return None
                raise BookingChangedError("the booking changed meanwhile; retry")
            await emit_booking_event(conn, EVENT_FOR_STATUS[new_status], updated.facts(), **extra)
            await self._store_response(conn, idem, 200, updated)
            return updated

        return await self._commit(write)

    async def _commit(
        self,
        write: Callable[[BaseDBAsyncClient], Awaitable[T]],
        *,
        single_statement: bool = False,
    ) -> T:
        self._pending = []
        try:
            if single_statement:  # one statement is atomic on its own: skip BEGIN/COMMIT
                result = await write(db())
            else:
                async with in_transaction() as conn:
                    result = await write(conn)
        except SlotConflict:
            await self._load()  # another node won; memory was stale
            raise SlotTakenError("another booking holds this slot") from None
        for row in self._pending:
            self._remember(row)
        if isinstance(result, BookingRow):
            self._remember(result)
            self._after_commit(result.deadline_at)
        else:
            self._after_commit(None)
        return result

    # -- reads -----------------------------------------------------------------------------
    async def _availability(self, window: Slot) -> Availability:
        rules = await self.rules()
        now = self.clock.now()
        busy = [
            (slot, self._status.get(booking_id, BookingStatus.CONFIRMED).value)
            for booking_id, slot in self.timeline.busy(window)
            if self._holds.get(booking_id, now + timedelta(days=1)) > now
        ]
        days = {
            window.start.astimezone(rules.tz).date() + timedelta(days=i)
            for i in range((window.end - window.start).days + 2)
        }
        opened = [
            iv
            for day in sorted(days)
            for iv in open_intervals(day, rules.tz, rules.hours, rules.closures)
        ]
        free = free_intervals(window, [s for s, _ in busy], opened)
        return Availability(busy, [f for f in free if f.end > now])

    # -- helpers ---------------------------------------------------------------------------
    async def _get(self, booking_id: int) -> BookingRow:
        row = await store.get_booking(booking_id)
        if row is None or row.space_id != self.space_id:
            raise BookingNotFoundError(f"booking {booking_id} is not in space {self.space_id}")
        return row

    @staticmethod
    def _authorize(requester: Requester, row: BookingRow) -> None:
        if not requester.may_act_on(row.user_id, row.location_id):
            # Members must not learn that someone else's booking exists.
            raise BookingNotFoundError(f"booking {row.id} not found")

    def _deadline(
        self,
        status: BookingStatus,
        starts_at: datetime,
        ends_at: datetime,
        expires_at: datetime | None,
    ) -> datetime | None:
        deadline = next_deadline(
            status,
            starts_at=starts_at,
            ends_at=ends_at,
            expires_at=expires_at,
            no_show_grace=self.timing.no_show_grace,
        )
        return deadline.at if deadline else None

    @staticmethod
    async def _store_response(
        conn: BaseDBAsyncClient, idem: int | None, status: int, row: BookingRow
    ) -> None:
        if idem is not None:
            await store.store_idempotent_response(conn, idem, status, row.to_json())
