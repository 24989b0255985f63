"""The space actor's visit commands: check in (with proof of presence) and no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from cowork.actors.commands import CheckIn, Requester
from cowork.actors.space_core import SpaceCore
from cowork.domain.checkin import ensure_check_in_allowed, ensure_no_show_allowed
from cowork.domain.errors import BookingNotFoundError
from cowork.domain.presence import ensure_booking_pin, ensure_location_code
from cowork.domain.states import BookingAction
from cowork.store.bookings import BookingRow, SpaceRules


class VisitCommands(SpaceCore):
    async def _check_in(self, cmd: CheckIn) -> BookingRow:
        row = await self._get(cmd.booking_id)
        rules = await self.rules()
        now = self.clock.now()
        self._prove_presence(cmd, row, rules, now)
        ensure_check_in_allowed(
            row.status,
            row.starts_at,
            now=now,
            early=timedelta(minutes=rules.limits.check_in_early_minutes),
            grace=self.timing.no_show_grace,
        )
        row = await self._apply(
            row, BookingAction.CHECK_IN, idem=cmd.idempotency_id, checked_in_at=now
        )
        return row

    async def _mark_no_show(
        self, requester: Requester, booking_id: int, idem: int | None
    ) -> BookingRow:
        row = await self._get(booking_id)
        # someone else's booking: 404, as if there were none; its own member: 403
        self._authorize_staff(requester, row, "mark a no-show")
        ensure_no_show_allowed(row.starts_at, now=self.clock.now(), grace=self.timing.no_show_grace)
        marked: BookingRow = await self._apply(row, BookingAction.MARK_NO_SHOW, idem=idem)
        return marked

    def _prove_presence(
        self, cmd: CheckIn, row: BookingRow, rules: SpaceRules, now: datetime
    ) -> None:
        """A kiosk checks in with the booking's PIN; a member with the kiosk's code where the
        location asks for presence; staff of the location need neither."""
        key = self.timing.presence_key
        if cmd.requester.kiosk_location_id is not None:
            if cmd.requester.kiosk_location_id != row.location_id:
                raise BookingNotFoundError(row.id)
            ensure_booking_pin(key, row.id, cmd.pin)
            return
        self._authorize(cmd.requester, row)
        if rules.limits.check_in_needs_presence and not cmd.requester.is_staff_of(row.location_id):
            ensure_location_code(key, row.location_id, cmd.presence_code, now)
