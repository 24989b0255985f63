"""The history checker: after a storm, prove the promises from the database and the streams.

Each invariant is a function returning the violations it found, as sentences a person can act
on. `check` waits for the system to settle (outbox published, streams caught up, no refund
still queued), then runs them all and returns a `Report`; `assert report.ok, report`.

Invariants (docs/reliability.md says which fault threatens each):
  no_overlap          no two live bookings of a space overlap
  acknowledged        every 201 names a booking that exists, as asked; replays name the same
  no_phantom          every booking is explained by a 201 or by a request left unanswered
  keys_replayed       a retried key gets its own booking back, never a 409 for its own slot
  events_once         every public outbox row is in JetStream exactly once; nothing twice
  ends_once           no booking expires, is cancelled or completes twice (deadlines once)
  held_once           every booking has one creation event in the outbox (never half
                      written); every 201 has exactly one `booking.held` in JetStream and on
                      every subscribed stream that covers its space
  real_time_order     per space, a hold answered before another was asked comes first
  streams_in_order    each subscribed stream's ids only grow (no repeat, no resync)
  conflicts_real      every 409 slot_taken names (or meets) a live overlapping booking
  refunds_by_policy   each cancellation refunds exactly its policy; Stripe holds the same
                      refunds as we do; refunded_cents is the sum of live refunds
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tests.history import sources
from tests.history.money import refunds_by_policy
from tests.history.record import History, Op, StreamRecorder
from tests.polling import poll

TOLERANCE = timedelta(seconds=1)  # the test's and the nodes' clocks are the same host clock


@dataclass
class Scope:
    """Where the storm wrote: its database, its NATS, its locations and subscribed streams."""

    db: asyncpg.Connection
    nats_url: str
    location_ids: list[int]
    streams: list[StreamRecorder] = field(default_factory=list)
    localstripe: str | None = None  # check refunds at Stripe too


@dataclass
class Facts:
    bookings: dict[int, sources.BookingFact]
    outbox: list[sources.OutboxFact]
    stream: list[sources.StreamMessage]
    matched: dict[int, list[int]]  # public outbox row id -> stream seqs carrying it


@dataclass
class Report:
    requests: int
    statuses: Counter[str]
    faults: Counter[str]
    events: int
    bookings: int
    violations: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        head = (
            f"{self.requests} requests {dict(sorted(self.statuses.items()))}, "
            f"{sum(self.faults.values())} faults {dict(self.faults)}, {self.bookings} bookings, "
            f"{self.events} events, {len(self.violations)} violations"
        )
        return "\n  ".join([head, *self.violations[:40]])


async def check(
    history: History,
    scope: Scope,
    *,
    faults: Counter[str] | None = None,
    settle_timeout: float = 60.0,
) -> Report:
    violations: list[str] = []
    violations += await _settle(history, scope, settle_timeout)
    facts = await _gather(scope)
    for invariant in (
        no_overlap_found(await sources.overlapping_pairs(scope.db, scope.location_ids)),
        acknowledged(history, facts),
        no_phantom(history, facts),
        keys_replayed(history, facts),
        events_once(facts),
        ends_once(facts),
        held_once(history, facts, scope.streams),
        real_time_order(history, facts),
        streams_in_order(scope.streams),
        conflicts_real(history, facts),
    ):
        violations += invariant
    violations += await refunds_by_policy(scope, history.of("cancel"), facts.bookings)
    return Report(
        requests=len(history.ops),
        statuses=history.statuses(),
        faults=faults if faults is not None else Counter(),
        events=len(facts.stream),
        bookings=len(facts.bookings),
        violations=violations,
    )


# -- settling and gathering ------------------------------------------------------------------
async def _settle(history: History, scope: Scope, timeout: float) -> list[str]:
    """Wait (bounded) until nothing is on its way: outbox sent, streams caught up."""
    problems = []
    try:
        await poll(
            lambda: sources.unpublished(scope.db, scope.location_ids), lambda n: n == 0, timeout
        )
    except AssertionError:
        problems.append("outbox rows were never published")
    for recorder in scope.streams:
        wanted = {op.answer["id"] for op in _covered(history, recorder)}
        with contextlib.suppress(AssertionError):  # held_once names what is missing
            await poll(
                lambda r=recorder: set(r.booking_events("booking.held")),
                lambda seen, w=wanted: w <= seen,
                timeout,
            )
    return problems


async def _gather(scope: Scope) -> Facts:
    """Rows and stream messages of this scope. Messages are ours when they carry one of our
    outbox rows: a NATS shared with other databases has other events on the same subjects."""
    bookings = await sources.bookings(scope.db, scope.location_ids)
    outbox = await sources.public_outbox(scope.db, scope.location_ids)
    ours = {row.identity for row in outbox}
    stream = [
        m
        for m in await sources.stream_messages(scope.nats_url, scope.location_ids)
        if m.identity in ours
    ]
    by_identity: dict[str, list[int]] = defaultdict(list)
    for message in stream:
        by_identity[message.identity].append(message.seq)
    matched = {row.id: by_identity.get(row.identity, []) for row in outbox}
    return Facts(bookings, outbox, stream, matched)


def _holds_won(history: History) -> list[Op]:
    return [op for op in history.of("hold") if op.status == 201 and isinstance(op.answer, dict)]


def _covered(history: History, recorder: StreamRecorder) -> list[Op]:
    kind, _, ident = recorder.path.rstrip("/").rpartition("/")
    field_name = "location_id" if kind.endswith("locations") else "space_id"
    return [op for op in _holds_won(history) if str(op.answer.get(field_name)) == ident]


# -- invariants ------------------------------------------------------------------------------
def no_overlap_found(pairs: Iterable[Any]) -> list[str]:
    return [
        f"no_overlap: bookings {p['a']} and {p['b']} of space {p['space_id']} overlap, both live"
        for p in pairs
    ]


def acknowledged(history: History, facts: Facts) -> list[str]:
    out = []
    ids_by_key: dict[str, set[int]] = defaultdict(set)
    for op in _holds_won(history):
        got = op.answer
        if op.key:
            ids_by_key[op.key].add(got["id"])
        row = facts.bookings.get(got["id"])
        if row is None:
            out.append(f"acknowledged: {op} names booking {got['id']}, which does not exist")
            continue
        asked = (op.meta["space_id"], op.meta["user_id"], op.body["start"], op.body["end"])
        stored = (row.space_id, row.user_id, row.starts_at, row.ends_at)
        if asked[:2] != stored[:2] or [_at(t) for t in asked[2:]] != list(stored[2:]):
            out.append(f"acknowledged: {op} asked {asked}, booking {row.id} is {stored}")
    out += [
        f"acknowledged: key {k} answered with bookings {v}"
        for k, v in ids_by_key.items()
        if len(v) > 1
    ]
    return out


def no_phantom(history: History, facts: Facts) -> list[str]:
    """A booking nobody was told about must come from a request that got no answer.
    (Only when the history recorded the holds: a test may arrange bookings some other way.)"""
    if not history.of("hold"):
        return []
    told = {op.answer["id"] for op in _holds_won(history)}
    unanswered = Counter(_slot_of(op) for op in history.of("hold") if op.indeterminate)
    out = []
    for row in sorted(facts.bookings.values(), key=lambda b: b.id):
        if row.id in told:
            continue
        slot = (row.space_id, row.user_id, row.starts_at, row.ends_at)
        if unanswered[slot] > 0:
            unanswered[slot] -= 1
            continue
        out.append(
            f"no_phantom: booking {row.id} {slot} exists but every request for it was refused"
        )
    return out


def keys_replayed(history: History, facts: Facts) -> list[str]:
    """A retry with the key of a hold that was written must get that hold back, never a 409
    for the slot its own first attempt took."""
    keys_of_slot: dict[tuple[int, int, datetime, datetime], set[str]] = defaultdict(set)
    attempts: dict[str, list[Op]] = defaultdict(list)
    for op in history.of("hold"):
        if op.key:
            keys_of_slot[_slot_of(op)].add(op.key)
            attempts[op.key].append(op)
    booked = {(b.space_id, b.user_id, b.starts_at, b.ends_at): b for b in facts.bookings.values()}
    out = []
    for key, ops in attempts.items():
        last, slot = ops[-1], _slot_of(ops[-1])
        mine = booked.get(slot)
        if (
            last.status == 409
            and last.code == "slot_taken"
            and len(keys_of_slot[slot]) == 1
            and mine is not None
            and mine.created_at >= ops[0].invoked - TOLERANCE
        ):
            out.append(
                f"keys_replayed: key {key} was refused its slot, but its own earlier "
                f"attempt had booked it (booking {mine.id})"
            )
    return out


def ends_once(facts: Facts) -> list[str]:
    """A booking leaves its slot once: never expired, cancelled or completed twice."""
    ends = Counter(row.booking_id for row in facts.outbox if row.type in sources.ENDS_LIFE)
    return [
        f"ends_once: booking {booking_id} ended {n} times"
        for booking_id, n in ends.items()
        if n > 1
    ]


def events_once(facts: Facts) -> list[str]:
    out = []
    counts = Counter(m.identity for m in facts.stream)
    for message in facts.stream:
        if counts[message.identity] > 1:
            out.append(
                f"events_once: {message.type} of booking {message.booking_id} is in the "
                f"stream {counts[message.identity]} times (seq {message.seq})"
            )
            counts[message.identity] = 0  # report each event once
    for row in facts.outbox:
        if not facts.matched[row.id]:
            out.append(
                f"events_once: outbox row {row.id} ({row.type}, booking {row.booking_id}) "
                "never reached the stream"
            )
    return out


def held_once(history: History, facts: Facts, streams: list[StreamRecorder]) -> list[str]:
    out = []
    kinds = Counter((row.booking_id, row.type) for row in facts.outbox)
    for b in facts.bookings.values():
        # The row and its first event are one statement: never one without the other.
        first = "booking.held" if b.price_cents else "booking.confirmed"
        if kinds[b.id, first] != 1:
            out.append(f"held_once: booking {b.id} has {kinds[b.id, first]} {first} events")
    in_stream = Counter(m.booking_id for m in facts.stream if m.type == "booking.held")
    for op in _holds_won(history):
        if op.answer["status"] == "held" and in_stream[op.answer["id"]] != 1:
            out.append(
                f"held_once: booking {op.answer['id']} has {in_stream[op.answer['id']]} "
                "booking.held in JetStream"
            )
    for recorder in streams:
        seen = Counter(recorder.booking_events("booking.held"))
        for op in _covered(history, recorder):
            if op.answer["status"] == "held" and seen[op.answer["id"]] != 1:
                out.append(
                    f"held_once: {recorder.name} delivered booking.held of "
                    f"{op.answer['id']} {seen[op.answer['id']]} times"
                )
    return out


def real_time_order(history: History, facts: Facts) -> list[str]:
    """Per space: if hold a was answered before hold b was sent, a's event comes first."""
    seq_of = {m.booking_id: m.seq for m in facts.stream if m.type == "booking.held"}
    out = []
    by_space: dict[int, list[Op]] = defaultdict(list)
    for op in _holds_won(history):
        if op.answer["id"] in seq_of:
            by_space[op.meta["space_id"]].append(op)
    for space_id, ops in by_space.items():
        done = sorted(ops, key=lambda o: o.completed)
        latest: tuple[int, Op] | None = None  # highest seq among holds completed so far
        i = 0
        for op in sorted(ops, key=lambda o: o.invoked):
            while i < len(done) and done[i].completed < op.invoked:
                seq = seq_of[done[i].answer["id"]]
                if latest is None or seq > latest[0]:
                    latest = (seq, done[i])
                i += 1
            if latest is not None and latest[0] > seq_of[op.answer["id"]]:
                out.append(
                    f"real_time_order: space {space_id}: {latest[1]} finished before {op} "
                    "began, yet its event came later"
                )
    return out


def streams_in_order(streams: list[StreamRecorder]) -> list[str]:
    out = []
    for recorder in streams:
        ids = [e.id for e in recorder.events if e.id is not None and e.event != "resync"]
        if any(b <= a for a, b in itertools.pairwise(ids)):
            out.append(f"streams_in_order: {recorder.name} repeated or reordered ids")
        if any(e.event == "resync" for e in recorder.events):
            out.append(f"streams_in_order: {recorder.name} had to resync (events were lost to it)")
    return out


def conflicts_real(history: History, facts: Facts) -> list[str]:
    ends = _life_ends(facts)
    out = []
    for op in history.of("hold"):
        if op.status != 409 or op.code != "slot_taken":
            continue
        space_id, _, start, end = _slot_of(op)
        rivals = [
            b
            for b in facts.bookings.values()
            if b.space_id == space_id
            and b.starts_at < end
            and start < b.ends_at
            and b.created_at <= op.completed + TOLERANCE
            and ends.get(b.id, datetime.max.replace(tzinfo=b.created_at.tzinfo))
            >= op.invoked - TOLERANCE
        ]
        named = (op.answer or {}).get("conflicts") or []
        if not rivals:
            out.append(f"conflicts_real: {op} was refused, but no live booking overlapped then")
        for booking_id in named:
            b = facts.bookings.get(booking_id)
            if b is None or b.space_id != space_id or not (b.starts_at < end and start < b.ends_at):
                out.append(
                    f"conflicts_real: {op} names booking {booking_id}, which does not overlap"
                )
    return out


def _life_ends(facts: Facts) -> dict[int, datetime]:
    """When each booking stopped holding its slot (first end-of-life event, or hold expiry)."""
    ends: dict[int, datetime] = {}
    for row in facts.outbox:
        if row.type in sources.ENDS_LIFE and row.booking_id is not None:
            ends.setdefault(row.booking_id, row.created_at)
    for b in facts.bookings.values():
        if b.status == "held" and b.expires_at is not None:
            ends[b.id] = min(ends.get(b.id, b.expires_at), b.expires_at)
    return ends


# -- helpers ---------------------------------------------------------------------------------
def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _slot_of(op: Op) -> tuple[int, int, datetime, datetime]:
    return (op.meta["space_id"], op.meta["user_id"], _at(op.body["start"]), _at(op.body["end"]))
