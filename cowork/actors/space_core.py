"""What the space actor's command groups share: its state and the steps every write uses.

`SpaceActor` (cowork.actors.space) defines each step; the groups of commands that live in
their own modules (check-in, approvals, waitlist, series) are mixins over this class and only
call them, so each group reads like the actor itself and none grows it past one idea.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actors.base import Actor
from cowork.actors.commands import Command, Requester
from cowork.actors.memory import SpaceMemory
from cowork.clock import Clock
from cowork.domain.errors import BookingNotFoundError, ForbiddenError
from cowork.domain.pricing import price_cents
from cowork.domain.slots import Slot
from cowork.domain.states import BookingAction, BookingStatus, initial_state
from cowork.store.bookings import BookingRow, SpaceRules

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SpaceTiming:
    hold_ttl: timedelta
    no_show_grace: timedelta
    presence_key: bytes = b""  # signs kiosk presence codes and booking PINs (domain.presence)


class SpaceCore(Actor[Command]):
    space_id: int
    clock: Clock
    timing: SpaceTiming
    memory: SpaceMemory
    _after_commit: Callable[[datetime | None], None]  # wakes the relay and the timer

    @abstractmethod
    async def rules(self) -> SpaceRules:
        """The space's rules (cached for a short while)."""

    @abstractmethod
    async def _get(self, booking_id: int) -> BookingRow:
        """A booking of this space, or BookingNotFoundError."""

    @abstractmethod
    async def _next_id(self) -> int:
        """A reserved booking id (events name a booking before it exists)."""

    @abstractmethod
    async def _reserve_ids(self, count: int) -> None:
        """Reserve ids for `count` bookings ahead, in one query."""

    @abstractmethod
    def _judge(
        self, slot: Slot, rules: SpaceRules, now: datetime, moving: int | None = None
    ) -> int:
        """Validate a wanted slot against the rules and memory; its price if acceptable."""

    @abstractmethod
    def _deadline(
        self,
        status: BookingStatus,
        starts: datetime,
        ends: datetime,
        expires: datetime | None,
        after: timedelta = timedelta(0),
    ) -> datetime | None:
        """The instant the timer must act on a booking in `status` (`after`: its buffer)."""

    @abstractmethod
    def _changed(self, rows: list[BookingRow]) -> None:
        """Rows a write changed on the side, remembered on commit."""

    @abstractmethod
    async def _commit(
        self,
        run: Callable[[BaseDBAsyncClient], Awaitable[T]],
        *,
        atomic: bool = False,
        frees: bool = False,
    ) -> T:
        """Run one write; `frees`: it may free time, so waiting members get their offers."""

    @abstractmethod
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
        """The one transition path: a conditional update with its events and answer."""

    @abstractmethod
    async def _take_offer_turn(self, conn: BaseDBAsyncClient) -> None:
        """Lock the space's waitlist for this transaction (before any quota lock)."""

    @abstractmethod
    async def _offer_freed(self, conn: BaseDBAsyncClient) -> None:
        """Offer what this transaction freed to the space's waiting members."""

    @abstractmethod
    async def _remember(self, rows: list[BookingRow]) -> None:
        """Take in what a commit changed (memory reloads if it disagrees)."""

    @abstractmethod
    async def _load(self) -> None:
        """Reload rules and schedule from the database (memory was stale)."""

    # -- shared steps --------------------------------------------------------------------
    def _initial_state(
        self, price: int, rules: SpaceRules, slot: Slot, now: datetime, *, offered: bool = False
    ) -> tuple[BookingStatus, datetime | None]:
        """Pending approval, held until paid (or for a waitlist offer), or confirmed."""
        return initial_state(
            price_cents=price,
            needs_approval=rules.requires_approval,
            now=now,
            starts_at=slot.start,
            hold_ttl=(
                timedelta(minutes=rules.limits.waitlist_offer_minutes)
                if offered
                else self.timing.hold_ttl
            ),
            approval_window=timedelta(hours=rules.limits.approval_hours),
            offered=offered,
        )

    async def _new_row(
        self,
        user_id: int,
        slot: Slot,
        rules: SpaceRules,
        now: datetime,
        *,
        offered: bool = False,
        series_id: int | None = None,
    ) -> BookingRow:
        """A booking about to be written for `user_id`: priced, in its first state, with the
        space's buffers of now. The slot must have been judged."""
        price = price_cents(
            slot, tz=rules.tz, hourly_cents=rules.hourly_cents, daily_cents=rules.daily_cents
        )
        status, expires_at = self._initial_state(price, rules, slot, now, offered=offered)
        return BookingRow(
            id=await self._next_id(),
            space_id=self.space_id,
            location_id=rules.location_id,
            user_id=user_id,
            starts_at=slot.start,
            ends_at=slot.end,
            status=status,
            price_cents=price,
            currency=rules.currency,
            expires_at=expires_at,
            deadline_at=self._deadline(
                status, slot.start, slot.end, expires_at, rules.buffers.after
            ),
            checked_in_at=None,
            cancel_reason=None,
            created_at=now,
            buffer_before_minutes=rules.buffers.before_minutes,
            buffer_after_minutes=rules.buffers.after_minutes,
            series_id=series_id,
        )

    @staticmethod
    def _authorize(requester: Requester, row: BookingRow) -> None:
        if not requester.may_act_on(row.user_id, row.location_id):
            # Members must not learn that someone else's booking exists.
            raise BookingNotFoundError(row.id)

    @classmethod
    def _authorize_staff(cls, requester: Requester, row: BookingRow, what: str) -> None:
        """Staff of the booking's location only; its member is told no, others see nothing."""
        cls._authorize(requester, row)
        if not requester.is_staff_of(row.location_id):
            raise ForbiddenError(f"only staff of this location can {what}")
