"""The space actor's approvals: a manager approves or declines a request, or the timer
declines it at its deadline. The member is told either way (`booking.approved`,
`booking.declined`)."""

from __future__ import annotations

from cowork.actors.commands import Approve, Decline
from cowork.actors.space_core import SpaceCore
from cowork.domain.policy import SystemReason
from cowork.domain.states import BookingAction
from cowork.store.bookings import BookingRow

APPROVED = "booking.approved"


class ApprovalCommands(SpaceCore):
    async def _decide(self, cmd: Approve | Decline) -> BookingRow:
        row = await self._get(cmd.booking_id)
        self._authorize_staff(cmd.requester, row, "decide on a booking request")
        if isinstance(cmd, Approve):
            return await self._approve(row, cmd.idempotency_id)
        return await self._decline(
            row, SystemReason.DECLINED_BY_STAFF, note=cmd.note, idem=cmd.idempotency_id
        )

    async def _approve(self, row: BookingRow, idem: int | None) -> BookingRow:
        """A paid space's request becomes a hold the member pays within the hold TTL; a free
        one is booked at once."""
        if row.price_cents > 0:
            expires_at = self.clock.now() + self.timing.hold_ttl
            action = BookingAction.APPROVE_TO_PAY
        else:
            expires_at, action = None, BookingAction.APPROVE
        approved: BookingRow = await self._apply(
            row, action, idem=idem, event_type=APPROVED, expires_at=expires_at
        )
        return approved

    async def _decline(
        self,
        row: BookingRow,
        reason: SystemReason,
        *,
        note: str | None = None,
        idem: int | None = None,
        missing_ok: bool = False,
    ) -> BookingRow:
        event = {"reason": reason.value, "note": note}
        declined: BookingRow = await self._apply(
            row,
            BookingAction.DECLINE,
            idem=idem,
            missing_ok=missing_ok,
            event=event,
            cancel_reason=reason.value,
            cancel_note=note,
        )
        return declined

    async def _decline_lapsed(self, row: BookingRow) -> BookingRow | None:
        """The request's deadline passed with no decision: it declines itself."""
        return await self._decline(row, SystemReason.APPROVAL_LAPSED, missing_ok=True)
