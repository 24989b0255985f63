"""A space's upcoming schedule in memory: which live bookings guard which ranges.

Answers availability reads and obvious conflicts without the database; the database still
decides every write. What "holds a slot" means is `domain.states.occupies`, nothing else; the
range a booking keeps from others is its slot widened by its buffers (`domain.buffers`).

Reads are cached: each local day's open intervals (per rules object), and each window's
encoded answer until the schedule's `version` moves, the rules are reloaded, or the clock
passes the first instant at which the answer would change (a hold lapsing, a free interval
ending).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cowork.domain.buffers import Buffers, blocked_for_new, guarded, turnaround
from cowork.domain.errors import SlotTakenError
from cowork.domain.schedule import open_intervals
from cowork.domain.slots import Slot
from cowork.domain.states import LIVE_STATUSES, hold_lapsed, occupies
from cowork.domain.timeline import Timeline, free_intervals
from cowork.realtime.changes import etag_of
from cowork.store.bookings import BookingRow, SpaceRules

MAX_CACHED_WINDOWS = 256  # encoded answers kept per space (distinct query strings)
MAX_CACHED_DAYS = 400
BUFFER = "buffer"  # the status availability shows for a booking's turnaround


@dataclass(frozen=True, slots=True)
class Availability:
    busy: list[tuple[Slot, str]]
    free: list[Slot]
    valid_until: datetime | None = None  # the answer may change from then on

    def to_json(self, space_id: int, window: Slot) -> dict[str, object]:
        return {
            "space_id": space_id,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "busy": [
                {"start": s.start.isoformat(), "end": s.end.isoformat(), "status": status}
                for s, status in self.busy
            ],
            "free": [{"start": s.start.isoformat(), "end": s.end.isoformat()} for s in self.free],
        }


@dataclass(frozen=True, slots=True)
class EncodedRead:
    """A read's JSON body, its ETag, and what it was computed from."""

    body: bytes
    etag: str
    version: int
    rules: object
    valid_until: datetime | None

    @classmethod
    def of(
        cls, document: object, version: int, rules: object, valid_until: datetime | None
    ) -> EncodedRead:
        body = json.dumps(document, separators=(",", ":")).encode()
        return cls(body, etag_of(body), version, rules, valid_until)


class SpaceMemory:
    def __init__(self) -> None:
        self.timeline = Timeline()  # guarded ranges (never overlapping, like the constraint's)
        self._rows: dict[int, BookingRow] = {}
        self.version = 0  # moves with every change of the schedule
        self.stale = False  # rules changed and are not reloaded yet: reads take the mailbox
        self._reads: dict[str, EncodedRead] = {}
        self._days: dict[date, list[Slot]] = {}
        self._days_rules: object = None

    def reset(self, rows: Iterable[BookingRow], now: datetime) -> None:
        self.timeline = Timeline()
        self._rows.clear()
        self.stale = False
        for row in rows:
            self.remember(row, now)
        self.version += 1

    def remember(self, row: BookingRow, now: datetime) -> None:
        """Take in a booking's latest state (a row no longer live, or whose turnaround is
        over too, leaves)."""
        self.version += 1
        self.timeline.remove(row.id)
        self._rows.pop(row.id, None)
        guard = guarded(row.slot, row.buffers)
        if row.status in LIVE_STATUSES and guard.end > now:
            self.timeline.add(row.id, guard)
            self._rows[row.id] = row

    def _occupies(self, booking_id: int, now: datetime) -> bool:
        row = self._rows.get(booking_id)
        return row is None or occupies(row.status, row.expires_at, now)

    def lapsed_in(self, guard: Slot, now: datetime) -> bool:
        """Does a hold that lapsed (the timer has not expired it yet) overlap `guard`?"""
        return any(
            hold_lapsed(row.status, row.expires_at, now)
            for b in self.timeline.conflicts(guard)
            if (row := self._rows.get(b)) is not None
        )

    def raise_if_taken(self, guard: Slot, now: datetime, ignore: int | None = None) -> None:
        """Refuse a wanted guarded range that overlaps one a live booking keeps."""
        for booking_id in self.timeline.conflicts(guard, ignore=ignore):
            if self._occupies(booking_id, now):
                raise SlotTakenError("another booking holds this slot", conflicts=[booking_id])

    def busy(self, window: Slot, now: datetime) -> list[tuple[Slot, str]]:
        """The slots held in `window` at `now` with the status holding each, and the
        turnaround around them as `buffer`."""
        found: list[tuple[Slot, str]] = []
        for booking_id, _ in self.timeline.busy(window):
            row = self._rows.get(booking_id)
            if row is None or not self._occupies(booking_id, now):
                continue
            parts = [(row.slot, row.status.value)]
            parts += [(part, BUFFER) for part in turnaround(row.slot, row.buffers)]
            found += [(slot, label) for slot, label in parts if slot.overlaps(window)]
        return sorted(found, key=lambda item: item[0].start)

    def guards(self, window: Slot, now: datetime) -> list[Slot]:
        """The guarded ranges of the bookings holding their slot in `window` at `now`."""
        return [g for b, g in self.timeline.busy(window) if self._occupies(b, now)]

    def availability(self, window: Slot, rules: SpaceRules, now: datetime) -> Availability:
        """Busy slots (held at `now`, with their turnaround) and where a new booking, with the
        space's buffers of its own, fits in `window`'s open hours from now on."""
        first = window.start.astimezone(rules.tz).date()
        opened = [
            iv
            for i in range((window.end - window.start).days + 2)
            for iv in self._open_on(first + timedelta(days=i), rules)
        ]
        wide = _widened(window, rules.buffers)
        blocked = [blocked_for_new(g, rules.buffers) for g in self.guards(wide, now)]
        free = [f for f in free_intervals(window, blocked, opened) if f.end > now]
        return Availability(self.busy(window, now), free, self._valid_until(free, now))

    def _open_on(self, day: date, rules: SpaceRules) -> list[Slot]:
        if self._days_rules is not rules or len(self._days) > MAX_CACHED_DAYS:
            self._days, self._days_rules = {}, rules
        opened = self._days.get(day)
        if opened is None:
            opened = self._days[day] = open_intervals(day, rules.tz, rules.hours, rules.closures)
        return opened

    def _valid_until(self, free: list[Slot], now: datetime) -> datetime | None:
        """The first instant after `now` when the same question could get another answer."""
        changes = [f.end for f in free if f.end > now]
        changes += [  # any hold lapsing (its buffers may reach into the window too)
            row.expires_at
            for row in self._rows.values()
            if row.expires_at is not None and row.expires_at > now
        ]
        return min(changes, default=None)

    # -- encoded answers -------------------------------------------------------------------
    def cached(self, key: str, rules: SpaceRules, now: datetime) -> EncodedRead | None:
        """The encoded answer to `key` (a query string) if nothing it depends on moved."""
        read = self._reads.get(key)
        if read is None or read.version != self.version or read.rules is not rules:
            return None
        if read.valid_until is not None and now >= read.valid_until:
            return None
        return read

    def encode(
        self, key: str, rules: SpaceRules, answer: Availability, document: Callable[[], object]
    ) -> EncodedRead:
        """Encode `answer` once and keep it for the next identical question."""
        read = EncodedRead.of(document(), self.version, rules, answer.valid_until)
        if len(self._reads) >= MAX_CACHED_WINDOWS:
            self._reads.clear()
        self._reads[key] = read
        return read


def _widened(window: Slot, buffers: Buffers) -> Slot:
    """Guards that reach into `window` once a new booking's own buffers are added: one ending
    up to `before` ahead of the window, or starting up to `after` past it."""
    return Slot(window.start - buffers.before, window.end + buffers.after)
