"""The space actor's recurring series: book every occurrence (or those available) in one
transaction, and cancel one, this and the following, or all of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions import series as write
from cowork.actors.commands import CancelSeries, PlaceSeries
from cowork.actors.space_core import SpaceCore
from cowork.domain.buffers import guarded
from cowork.domain.errors import BookingChangedError, BookingNotFoundError, SpaceInactiveError
from cowork.domain.policy import cancel_reason, cancellation_percent
from cowork.domain.problems import DomainError, Problem
from cowork.domain.quotas import QuotaExceededError
from cowork.domain.recurrence import SeriesMode, SeriesScope, occurrences
from cowork.domain.slots import Slot
from cowork.domain.states import BookingAction, can_transition, transition
from cowork.store import series as store
from cowork.store.bookings import BookingRow, SlotConflict, SpaceRules
from cowork.store.series import SeriesRow

Plan = list[tuple[Slot, str]]  # each occurrence and its outcome: BOOKED or a problem code


class SeriesCommands(SpaceCore):
    async def _series(self, cmd: PlaceSeries | CancelSeries) -> dict[str, Any]:
        if isinstance(cmd, PlaceSeries):
            return await self._place_series(cmd)
        return await self._cancel_series(cmd)

    async def _place_series(self, cmd: PlaceSeries) -> dict[str, Any]:
        rules = await self.rules()
        if not rules.active:
            raise SpaceInactiveError("this space is not bookable")
        now = self.clock.now()
        plan = self._plan(occurrences(cmd.recurrence, rules.tz), rules, now)
        strict = cmd.mode is SeriesMode.ALL_OR_NOTHING
        if (strict and any(o != write.BOOKED for _, o in plan)) or not _booked(plan):
            raise _not_booked(plan)
        assert cmd.requester.user_id is not None
        rows = [await self._new_row(cmd.requester.user_id, s, rules, now) for s in _booked(plan)]

        async def run(conn: BaseDBAsyncClient) -> dict[str, Any]:
            series = await store.insert(
                conn,
                space_id=self.space_id,
                location_id=rules.location_id,
                user_id=rows[0].user_id,
                recurrence=cmd.recurrence,
                timezone=rules.tz.key,
                mode=cmd.mode,
            )
            outcomes = list(plan)  # this attempt's (a transaction may be run again)
            booked = await self._book_all(conn, series, rows, outcomes, rules, now, strict)
            answer = write.series_json(
                series, [write.occurrence_json(s, o, booked.get(s)) for s, o in outcomes]
            )
            await write.announce(
                conn, "series.created", series, answer, idem=cmd.idempotency_id, status=201
            )
            return answer

        return await self._commit(run)

    def _plan(self, slots: list[Slot], rules: SpaceRules, now: datetime) -> Plan:
        """Judge every occurrence with the rules and memory (and against each other)."""
        plan: Plan = []
        kept: list[Slot] = []
        for slot in slots:
            try:
                self._judge(slot, rules, now)
                guard = guarded(slot, rules.buffers)
                if any(guard.overlaps(k) for k in kept):
                    raise Problem.SLOT_TAKEN.error("two occurrences overlap")
                kept.append(guard)
                plan.append((slot, write.BOOKED))
            except DomainError as exc:
                plan.append((slot, exc.code))
        return plan

    async def _book_all(
        self,
        conn: BaseDBAsyncClient,
        series: SeriesRow,
        rows: list[BookingRow],
        plan: Plan,
        rules: SpaceRules,
        now: datetime,
        strict: bool,
    ) -> dict[Slot, BookingRow]:
        """Write the occurrences; all or nothing (`strict`), or each alone in a savepoint."""
        booked: dict[Slot, BookingRow] = {}
        for row in rows:
            try:
                placed = await write.book(
                    conn,
                    replace(row, series_id=series.id),
                    quotas=rules.limits.quotas,
                    tz=rules.tz,
                    now=now,
                    alone=not strict,
                )
            except (SlotConflict, QuotaExceededError) as exc:
                code = exc.code if isinstance(exc, DomainError) else Problem.SLOT_TAKEN.code
                plan[:] = [(s, code if s == row.slot else o) for s, o in plan]
                if strict and isinstance(exc, QuotaExceededError):
                    raise
                if strict:
                    await self._load()  # another node won a slot: memory was stale
                    raise _not_booked(plan) from None
                continue
            booked[placed.slot] = placed
        if not booked:
            raise _not_booked(plan)
        self._changed(list(booked.values()))
        return booked

    async def _cancel_series(self, cmd: CancelSeries) -> dict[str, Any]:
        series = await store.get(cmd.series_id)
        if (
            series is None
            or series.space_id != self.space_id
            or not cmd.requester.may_act_on(series.user_id, series.location_id)
        ):
            raise Problem.SERIES_NOT_FOUND.error(f"No series {cmd.series_id} of yours.")
        now = self.clock.now()
        targets = _targets(await store.occurrences(series.id), cmd.scope, cmd.booking_id, now)
        rules = await self.rules()
        requester = cmd.requester
        by_staff = requester.is_staff_of(series.location_id) and requester.user_id != series.user_id
        reason = cancel_reason(cmd.reason, by_staff=by_staff)

        async def run(conn: BaseDBAsyncClient) -> dict[str, Any]:
            cancelled = []
            for row in targets:
                percent = cancellation_percent(
                    rules.policy, starts_at=row.starts_at, now=now, by_staff=by_staff
                )
                done = await write.cancel_occurrence(
                    conn, row, reason=reason, percent=percent, note=cmd.note
                )
                if done is None:
                    raise BookingChangedError("an occurrence changed meanwhile; retry")
                self._changed([done.booking])
                cancelled.append(
                    {
                        "booking_id": row.id,
                        "start": row.starts_at.isoformat(),
                        "end": row.ends_at.isoformat(),
                        "refund_percent": done.refund_percent,
                        "refund_cents": done.refund_cents,
                    }
                )
            answer = {"series_id": series.id, "scope": cmd.scope.value, "cancelled": cancelled}
            await write.announce(
                conn, "series.cancelled", series, answer, idem=cmd.idempotency_id, status=200
            )
            return answer

        return await self._commit(run, frees=True)


def _booked(plan: Plan) -> list[Slot]:
    return [slot for slot, outcome in plan if outcome == write.BOOKED]


def _not_booked(plan: Plan) -> DomainError:
    return Problem.SERIES_NOT_BOOKED.error(
        "No occurrence was booked.",
        occurrences=[
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                # nothing was booked: an occurrence that could have been is only `available`
                "outcome": "available" if o == write.BOOKED else o,
            }
            for s, o in plan
        ],
    )


def _targets(
    rows: list[BookingRow], scope: SeriesScope, booking_id: int | None, now: datetime
) -> list[BookingRow]:
    """The occurrences a cancel of `scope` takes: the named one (which must be cancellable),
    and for `following` / `all` every later one not yet begun that can still be cancelled."""

    def open_after(start: datetime) -> list[BookingRow]:
        return [
            r
            for r in rows
            if r.starts_at > max(start, now) and can_transition(r.status, BookingAction.CANCEL)
        ]

    if scope is SeriesScope.ALL:
        return open_after(now)
    named = next((r for r in rows if r.id == booking_id), None)
    if named is None:
        raise BookingNotFoundError(booking_id or 0)
    transition(named.status, BookingAction.CANCEL)
    return [named] if scope is SeriesScope.ONE else [named, *open_after(named.starts_at)]
