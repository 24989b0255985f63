"""New holds: what a space's actor finds in its mailbox is judged in order and written at once.

A run of holds drained together (`Actor.batchable`) is judged one after another against the
actor's memory *and the run's earlier holds*: a hold overlapping an earlier one of its run
waits for that one's fate (refused naming it if it committed, judged again if it lost), so
the outcome is one the holds could have had one at a time and a 409 names only committed
bookings. The plain ones (no quota to count, no lapsed hold to expire
first) are handed to the node's writer together (`store.group_commit`: one statement, shared
with other spaces' holds); the others are written alone, in their place in the run. The
database stays the arbiter: a hold it refuses for an overlap reloads memory and answers 409
(or, when the obstacle is a lapsed hold, expires it and retries), and one hold that fails
never fails the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.actions import bookings as write
from cowork.actions.quotas import ensure_within
from cowork.actors.commands import Command, PlaceHold
from cowork.actors.space_core import SpaceCore
from cowork.domain.buffers import guarded
from cowork.domain.errors import SlotTakenError, SpaceInactiveError
from cowork.domain.slots import Slot
from cowork.domain.states import EVENT_OF
from cowork.domain.timeline import Timeline
from cowork.store.bookings import BookingRow, SlotConflict, SpaceRules
from cowork.store.group_commit import GroupCommit
from cowork.store.new_bookings import NewBooking


@dataclass(frozen=True, slots=True)
class JudgedHold:
    """A hold the rules and memory accept, with the row it would write."""

    cmd: PlaceHold
    row: BookingRow
    guard: Slot  # the range it keeps from other bookings (its buffers included)
    rules: SpaceRules
    now: datetime
    stale: bool  # a lapsed hold the timer has not expired yet stands in the way

    @property
    def plain(self) -> bool:
        """One insert is all it takes: no lapsed hold to expire, no quota to count."""
        return not self.stale and not self.rules.limits.quotas.any


class HoldCommands(SpaceCore):
    writer: GroupCommit

    def batchable(self, message: Command) -> bool:
        return isinstance(message, PlaceHold)

    async def handle_batch(self, messages: list[Command]) -> list[Any]:
        outcomes: list[Any] = [None] * len(messages)
        await self._reserve_ids(len(messages))
        await self._place_run(list(enumerate(messages)), outcomes)
        return outcomes

    async def _place_run(self, run: list[tuple[int, Command]], outcomes: list[Any]) -> None:
        """Judge a run in order; write its plain holds together, any other alone in its place.
        A hold that overlaps only an earlier hold of the run waits for that hold's fate."""
        plain: list[tuple[int, JudgedHold]] = []
        behind: list[tuple[int, Command, list[int]]] = []
        taken = Timeline()  # what this run's plain holds keep, until they are written
        for i, cmd in run:
            assert isinstance(cmd, PlaceHold)
            try:
                hold = await self._judge_hold(cmd, taken)
            except Exception as exc:  # noqa: BLE001 - it fails alone (DomainError: a 4xx)
                outcomes[i] = exc
                continue
            if isinstance(hold, list):
                behind.append((i, cmd, hold))
            elif hold.plain:
                taken.add(hold.row.id, hold.guard)
                plain.append((i, hold))
            else:
                await self._settle(plain, behind, outcomes)  # what came before it goes first
                plain, behind, taken = [], [], Timeline()
                outcomes[i] = await _outcome(self._place_alone(hold))
        await self._settle(plain, behind, outcomes)

    async def _settle(
        self,
        plain: list[tuple[int, JudgedHold]],
        behind: list[tuple[int, Command, list[int]]],
        outcomes: list[Any],
    ) -> None:
        """Write the plain holds; then a hold behind one that won is refused naming it (a 409
        names only committed bookings), and one behind holds that all lost is judged again."""
        won = await self._write_plain(plain, outcomes)
        again: list[tuple[int, Command]] = []
        for i, cmd, earlier in behind:
            if winners := [b for b in earlier if b in won]:
                outcomes[i] = SlotTakenError("another booking holds this slot", conflicts=winners)
            else:
                again.append((i, cmd))
        if again:  # each round settles at least its first hold: this ends
            await self._place_run(again, outcomes)

    async def _judge_hold(self, cmd: PlaceHold, taken: Timeline) -> JudgedHold | list[int]:
        """Validate against the rules and memory; price it and reserve its id. Overlapping
        only holds of `taken` (not written yet): their ids, to decide once they are."""
        rules = await self.rules()
        if not rules.active:
            raise SpaceInactiveError("this space is not bookable")
        now = self.clock.now()
        slot = Slot(cmd.start, cmd.end)
        self._judge(slot, rules, now)
        guard = guarded(slot, rules.buffers)
        if earlier := taken.conflicts(guard):
            return earlier
        assert cmd.requester.user_id is not None
        row = await self._new_row(cmd.requester.user_id, slot, rules, now)
        return JudgedHold(cmd, row, guard, rules, now, self.memory.lapsed_in(guard, now))

    async def _write_plain(
        self, plain: list[tuple[int, JudgedHold]], outcomes: list[Any]
    ) -> set[int]:
        """Write plain holds through the node's writer; each gets its own outcome. The ids
        of those committed."""
        if not plain:
            return set()
        new = [NewBooking(h.row, EVENT_OF[h.row.status], h.cmd.idempotency_id) for _, h in plain]
        results = await self.writer.write(new)
        won = [r for r in results if isinstance(r, BookingRow)]
        await self._remember(won)
        if won:  # the relay wakes once; the timer for the earliest new deadline
            self._after_commit(min((r.deadline_at for r in won if r.deadline_at), default=None))
        reloaded = False
        for (i, hold), result in zip(plain, results, strict=True):
            if not isinstance(result, SlotConflict):
                outcomes[i] = result
                continue
            if not reloaded:  # another node won a slot: memory was stale
                await self._load()
                reloaded = True
            outcomes[i] = await _outcome(self._retry_past_lapsed(hold))
        return {r.id for r in won} | {
            o.id for i, _ in plain if isinstance(o := outcomes[i], BookingRow)
        }

    async def _place_alone(self, hold: JudgedHold) -> BookingRow:
        """A hold that needs a transaction of its own (quotas, a lapsed hold to expire)."""
        try:
            run = self._placing(hold, hold.stale)
            return await self._commit(run, atomic=False, frees=hold.stale)
        except SlotTakenError:
            if hold.stale:
                raise
            return await self._retry_past_lapsed(hold)

    async def _retry_past_lapsed(self, hold: JudgedHold) -> BookingRow:
        """Refused for an overlap (memory reloaded since): if the obstacle is another node's
        hold, lapsed but not expired by any timer yet, expire it and retry once."""
        if not self.memory.lapsed_in(hold.guard, hold.now):
            raise SlotTakenError("another booking holds this slot")
        return await self._commit(self._placing(hold, True), frees=True)

    def _placing(
        self, hold: JudgedHold, stale: bool
    ) -> Callable[[BaseDBAsyncClient], Awaitable[BookingRow]]:
        async def run(conn: BaseDBAsyncClient) -> BookingRow:
            if stale:  # rare: a lapsed hold the timer has not reached yet stands in the way
                self._changed(await write.expire_lapsed(conn, self.space_id, hold.now))
            await ensure_within(conn, hold.rules.limits.quotas, hold.rules.tz, hold.row, hold.now)
            return await write.place(conn, hold.row, hold.cmd.idempotency_id)

        return run


async def _outcome(write_one: Awaitable[BookingRow]) -> BookingRow | Exception:
    """The hold's row, or the error it failed with (it fails alone)."""
    try:
        return await write_one
    except Exception as exc:  # noqa: BLE001 - the actor answers each caller with its own
        return exc
