"""The space actor's waitlist: join, leave, accept a free offer, and the offer pass.

The pass runs inside every write that frees time (`SpaceActor._commit(frees=True)`): the
oldest waiting entries whose whole guarded range is now free get an exclusive hold each, in
the same transaction as the change that freed it. The database still decides: an offer that
loses a race to another node's write is undone alone (a savepoint) and the entry waits on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions import bookings as write
from cowork.actions import waitlist
from cowork.actors.commands import AcceptOffer, JoinWaitlist, LeaveWaitlist, Requester
from cowork.actors.space_core import SpaceCore
from cowork.domain.buffers import guarded
from cowork.domain.errors import BookingChangedError, SpaceInactiveError
from cowork.domain.policy import SystemReason
from cowork.domain.problems import DomainError, Problem
from cowork.domain.schedule import validate_slot
from cowork.domain.slots import Slot
from cowork.domain.states import BookingAction, BookingStatus, occupies
from cowork.domain.waitlist import StoredEntry
from cowork.store import waitlist as entries
from cowork.store.bookings import BookingRow, SpaceRules
from cowork.store.waitlist import EntryRow

OPEN = frozenset({BookingStatus.HELD, BookingStatus.PENDING_APPROVAL})


class WaitlistCommands(SpaceCore):
    async def _waitlist(self, cmd: JoinWaitlist | LeaveWaitlist | AcceptOffer) -> Any:
        if isinstance(cmd, JoinWaitlist):
            return await self._join(cmd)
        if isinstance(cmd, LeaveWaitlist):
            return await self._leave(cmd)
        return await self._accept(cmd)

    async def _join(self, cmd: JoinWaitlist) -> dict[str, Any]:
        rules = await self.rules()
        if not rules.active:
            raise SpaceInactiveError("this space is not bookable")
        now = self.clock.now()
        slot = Slot(cmd.start, cmd.end)
        self._validate(slot, rules, now)
        user_id = cmd.requester.user_id
        assert user_id is not None

        async def run(conn: BaseDBAsyncClient) -> EntryRow:
            return await waitlist.join(
                conn,
                space_id=self.space_id,
                location_id=rules.location_id,
                user_id=user_id,
                slot=slot,
                guard=guarded(slot, rules.buffers),
                now=now,
                idem=cmd.idempotency_id,
            )

        return waitlist.entry_json(await self._commit(run), now)

    async def _entry(self, requester: Requester, entry_id: int) -> EntryRow:
        entry = await entries.get_entry(entry_id)
        if (
            entry is None
            or entry.space_id != self.space_id
            or not requester.may_act_on(entry.user_id, entry.location_id)
        ):
            raise Problem.WAITLIST_ENTRY_NOT_FOUND.error(f"No waitlist entry {entry_id} of yours.")
        return entry

    async def _leave(self, cmd: LeaveWaitlist) -> None:
        """Leave; an open offer is declined on the way out and passes to the next member."""
        entry = await self._entry(cmd.requester, cmd.entry_id)
        if entry.status is StoredEntry.LEFT:
            return
        offer = await self._get(entry.booking_id) if entry.booking_id is not None else None
        is_open = offer is not None and offer.status in OPEN

        async def run(conn: BaseDBAsyncClient) -> None:
            if not await waitlist.leave(conn, entry):
                raise BookingChangedError("the entry changed meanwhile; retry")
            if is_open and offer is not None:
                declined = await write.cancel(
                    conn, offer, reason=SystemReason.OFFER_DECLINED.value, percent=100, idem=None
                )
                if declined is None:
                    raise BookingChangedError("the offer changed meanwhile; retry")
                self._changed([declined.booking])

        await self._commit(run, frees=is_open)

    async def _accept(self, cmd: AcceptOffer) -> BookingRow:
        entry = await self._entry(cmd.requester, cmd.entry_id)
        row = await self._get(entry.booking_id) if entry.booking_id is not None else None
        now = self.clock.now()
        if (
            entry.status is not StoredEntry.OFFERED
            or row is None
            or row.status is not BookingStatus.HELD
            or not occupies(row.status, row.expires_at, now)
        ):
            raise Problem.OFFER_NOT_OPEN.error("This entry has no offer to take now.")
        if row.price_cents > 0:
            raise Problem.OFFER_NEEDS_PAYMENT.error(
                "Pay the held booking to take the slot.", booking_id=row.id
            )
        taken: BookingRow = await self._apply(
            row, BookingAction.CONFIRM, idem=cmd.idempotency_id, expires_at=None
        )
        return taken

    # -- the offer pass (inside the freeing write's transaction) ---------------------------
    async def _take_offer_turn(self, conn: BaseDBAsyncClient) -> None:
        """The space's waitlist lock, taken first in a freeing write: every transaction takes
        it before any member's quota lock, so the two never wait on each other in a cycle."""
        await entries.lock_space(conn, self.space_id)

    async def _offer_freed(self, conn: BaseDBAsyncClient) -> None:
        rules = await self.rules()
        now = self.clock.now()
        waiting = await waitlist.candidates(conn, self.space_id, now)
        if not waiting or not rules.active:
            return
        guards = {e.id: guarded(e.slot, rules.buffers) for e in waiting}
        taken = await waitlist.taken(conn, self.space_id, list(guards.values()))
        for entry in waiting:  # oldest first; an entry only partly freed waits on
            guard = guards[entry.id]
            if any(guard.overlaps(t) for t in taken) or not self._valid(entry.slot, rules, now):
                continue
            row = await self._new_row(entry.user_id, entry.slot, rules, now, offered=True)
            placed = await waitlist.offer(
                conn, entry, row, quotas=rules.limits.quotas, tz=rules.tz, now=now
            )
            if placed is not None:
                taken.append(guard)
                self._changed([placed])

    @staticmethod
    def _validate(slot: Slot, rules: SpaceRules, now: datetime) -> None:
        validate_slot(
            slot,
            now=now,
            tz=rules.tz,
            hours=rules.hours,
            closures=rules.closures,
            limits=rules.limits,
        )

    @classmethod
    def _valid(cls, slot: Slot, rules: SpaceRules, now: datetime) -> bool:
        """Is a waiting slot still one the rules allow (hours or closures may have changed)?"""
        try:
            cls._validate(slot, rules, now)
        except DomainError:
            return False
        return True
