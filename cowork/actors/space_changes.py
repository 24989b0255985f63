"""The space actor's changes to an existing booking: cancel (owing the refund the policy
gives) and reschedule (the old slot is released only if the new one is won)."""

from __future__ import annotations

from dataclasses import replace

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions import bookings as write
from cowork.actions.bookings import Cancelled
from cowork.actions.quotas import ensure_within
from cowork.actors.commands import Cancel, Reschedule
from cowork.actors.space_core import SpaceCore
from cowork.domain.errors import BookingChangedError, RescheduleCostsMoreError
from cowork.domain.policy import cancel_reason, cancellation_percent
from cowork.domain.slots import Slot
from cowork.domain.states import BookingAction, BookingStatus, transition
from cowork.store.bookings import BookingRow


class ChangeCommands(SpaceCore):
    async def _cancel(self, cmd: Cancel) -> Cancelled:
        requester = cmd.requester
        row = await self._get(cmd.booking_id)
        self._authorize(requester, row)
        transition(row.status, BookingAction.CANCEL)
        rules = await self.rules()
        by_staff = requester.is_staff_of(row.location_id) and requester.user_id != row.user_id
        reason = cancel_reason(cmd.reason, by_staff=by_staff)
        idem = cmd.idempotency_id
        percent = cancellation_percent(
            rules.policy, starts_at=row.starts_at, now=self.clock.now(), by_staff=by_staff
        )

        async def run(conn: BaseDBAsyncClient) -> Cancelled:
            done = await write.cancel(
                conn, row, reason=reason, note=cmd.note, percent=percent, idem=idem
            )
            if done is None:
                raise BookingChangedError("the booking changed meanwhile; retry")
            return done

        return await self._commit(run, frees=True)

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
        deadline = self._deadline(
            row.status, slot.start, slot.end, row.expires_at, rules.buffers.after
        )

        wanted = replace(row, starts_at=slot.start, ends_at=slot.end)

        async def run(conn: BaseDBAsyncClient) -> BookingRow:
            self._changed(await write.expire_lapsed(conn, self.space_id, now))
            await ensure_within(conn, rules.limits.quotas, rules.tz, wanted, now, exclude=row.id)
            moved = await write.move(
                conn,
                row,
                slot,
                price_cents=price,
                deadline=deadline,
                idem=cmd.idempotency_id,
                buffers=rules.buffers,
            )
            if moved is None:
                raise BookingChangedError("the booking changed meanwhile; retry")
            return moved

        return await self._commit(run, frees=True)
