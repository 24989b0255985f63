"""Group commit of holds: a run drained from one space's mailbox, and the node's writer that
shares one statement between spaces, still give exactly one winner per slot, each hold its own
events and answer, and one failing hold never fails the others.

Faults it catches: a batch written as one statement that fails as a whole when one of its
holds overlaps a booking another node made (every member gets a 409 or a 500 for one
conflict); two holds of one run for the same slot both accepted (judged against memory only,
not against each other); a hold that cannot be written (a member deleted meanwhile) taking
its batch down with it; a batch that loses or duplicates events or idempotent answers; a
write PostgreSQL aborts to break a deadlock with another node answered as a 500 (and its
space's actor crashed) instead of being run again.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from asyncpg.transaction import Transaction

from cowork.actors.base import ActorCrashedError
from cowork.actors.commands import PlaceHold, Requester
from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.clock import ManualClock
from cowork.domain.errors import SlotTakenError
from cowork.domain.states import BookingStatus
from cowork.metrics import Metrics
from cowork.store import idempotency as keys
from cowork.store.bookings import BookingRow, SlotConflict
from cowork.store.db import db
from cowork.store.group_commit import GroupCommit
from cowork.store.new_bookings import NewBooking
from tests.factories import make_location, make_space, make_user
from tests.polling import poll

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
DAY = NOW + timedelta(days=1)
TIMING = SpaceTiming(hold_ttl=timedelta(minutes=10), no_show_grace=timedelta(minutes=15))
MISSING_USER = 2_000_000_000  # no such member: the insert breaks a foreign key


def at(hour: float, hours: float = 1) -> tuple[datetime, datetime]:
    start = DAY + timedelta(hours=hour)
    return start, start + timedelta(hours=hours)


@pytest.fixture
async def node(orm):
    """A node's registry whose actors write through one started writer."""
    writer = GroupCommit(linger=0.002, max_inflight=1)
    await writer.start()

    def factory(space_id: int) -> SpaceActor:
        return SpaceActor(
            space_id,
            clock=ManualClock(NOW),
            timing=TIMING,
            mailbox_size=64,
            idle_seconds=None,
            after_commit=lambda _: None,
            writer=writer,
        )

    registry = ActorRegistry(factory, Metrics())
    yield registry, writer
    await registry.stop()
    await writer.stop()


async def another_nodes_booking(space, user, hour: float) -> None:
    """A booking this node's memory never saw (another node committed it)."""
    start, end = at(hour)
    await db().execute_query(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status, "
        "price_cents, currency, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, 'confirmed', 0, 'EUR', now(), now())",
        [space.id, space.location_id, user.id, start, end],
    )


async def held_events(booking_id: int) -> int:
    rows = await db().execute_query_dict(
        "SELECT count(*) AS n FROM outbox WHERE type = 'booking.held' "
        "AND (payload->>'booking_id')::bigint = $1",
        [booking_id],
    )
    return int(rows[0]["n"])


async def live_in_space(space_id: int) -> list[tuple[datetime, int]]:
    rows = await db().execute_query_dict(
        "SELECT starts_at, user_id FROM bookings WHERE space_id = $1 "
        "AND status IN ('held', 'confirmed') ORDER BY starts_at",
        [space_id],
    )
    return [(r["starts_at"], r["user_id"]) for r in rows]


async def ask_together(registry: ActorRegistry, space_id: int, holds: list[PlaceHold]) -> list:
    """Queue every hold before the actor takes the first, so they are one drained run."""
    await registry.get(space_id)
    return await asyncio.gather(*(registry.ask(space_id, h) for h in holds), return_exceptions=True)


async def test_a_drained_run_has_winners_and_losers_and_commits_every_winner(node):
    registry, writer = node
    space = await make_space(await make_location(), hourly_price_cents=1000)
    members = [await make_user() for _ in range(5)]
    await registry.get(space.id)  # memory loaded first: it never sees the next booking
    await another_nodes_booking(space, members[0], 14)
    wanted = [at(10), at(10.5), at(12), at(14), at(16)]  # 2nd overlaps 1st; 4th another node's
    holds = [PlaceHold(Requester(m.id), *w) for m, w in zip(members, wanted, strict=True)]
    before = writer.groups

    results = await ask_together(registry, space.id, holds)

    first, overlapping, third, raced, fifth = results
    assert isinstance(overlapping, SlotTakenError)  # judged against the run's first hold
    assert overlapping.extra["conflicts"] == [first.id]  # which committed
    assert isinstance(raced, SlotTakenError)  # refused by the database, not by memory
    for row in (first, third, fifth):
        assert isinstance(row, BookingRow), row
        assert row.status is BookingStatus.HELD
        assert await held_events(row.id) == 2  # public + personal, once each
    assert writer.groups - before == 1, "the run's four plain holds went out as one statement"
    assert [user for _, user in await live_in_space(space.id)] == [
        members[0].id,
        members[2].id,
        members[0].id,  # another node's booking at 14:00 still stands
        members[4].id,
    ]


async def test_a_hold_behind_one_that_lost_at_the_database_is_judged_again_and_wins(node):
    """The run's first hold loses to another node's booking; the second overlapped only the
    first. Refusing it (worse: naming a booking that was never committed) would be wrong."""
    registry, _ = node
    space = await make_space(await make_location(), hourly_price_cents=1000)
    members = [await make_user() for _ in range(3)]
    await registry.get(space.id)
    await another_nodes_booking(space, members[0], 9)  # 09:00-10:00, unknown to memory
    holds = [
        PlaceHold(Requester(members[1].id), *at(9.5)),  # overlaps the other node's: loses
        PlaceHold(Requester(members[2].id), *at(10)),  # overlaps only the first
    ]

    lost, behind = await ask_together(registry, space.id, holds)

    assert isinstance(lost, SlotTakenError)
    assert isinstance(behind, BookingRow), behind
    assert await held_events(behind.id) == 2
    assert [user for _, user in await live_in_space(space.id)] == [members[0].id, members[2].id]


async def test_a_hold_that_cannot_be_written_fails_alone_and_its_run_commits(node):
    registry, _ = node
    space = await make_space(await make_location(), hourly_price_cents=1000)
    member = await make_user()
    answered = await keys.claim(
        member.id, "k-answered", "h", now=NOW, ttl=timedelta(days=1), lease=timedelta(minutes=1)
    )
    assert isinstance(answered, int)
    await keys.store_response(db(), answered, 409, {"code": "slot_taken"})  # answered before
    fresh = await keys.claim(
        member.id, "k-fresh", "h", now=NOW, ttl=timedelta(days=1), lease=timedelta(minutes=1)
    )
    assert isinstance(fresh, int)
    holds = [
        PlaceHold(Requester(member.id), *at(9), idempotency_id=fresh),
        PlaceHold(Requester(MISSING_USER), *at(11)),  # deleted member: a foreign key breaks
        PlaceHold(Requester(member.id), *at(13), idempotency_id=answered),
        PlaceHold(Requester(member.id), *at(15)),
    ]

    results = await ask_together(registry, space.id, holds)

    assert isinstance(results[1], ActorCrashedError)
    kept = [results[0], results[2], results[3]]
    assert all(isinstance(r, BookingRow) for r in kept), kept
    assert [s for s, _ in await live_in_space(space.id)] == [at(9)[0], at(13)[0], at(15)[0]]
    stored = await db().execute_query_dict(
        "SELECT id, response_status, response_body FROM idempotency_keys WHERE id = ANY($1)",
        [[fresh, answered]],
    )
    by_id = {r["id"]: r for r in stored}
    assert by_id[fresh]["response_status"] == 201  # its answer, in its hold's statement
    assert json.loads(by_id[fresh]["response_body"])["id"] == results[0].id
    assert by_id[answered]["response_status"] == 409  # a key is answered once
    # The actor that crashed on the poison hold was replaced, and knows what its run won.
    with pytest.raises(SlotTakenError):
        await registry.ask(space.id, PlaceHold(Requester(member.id), *at(15)))


async def test_the_writer_shares_one_statement_between_spaces_and_each_row_stands_alone(node):
    _, writer = node
    location = await make_location()
    spaces = [await make_space(location, hourly_price_cents=0) for _ in range(3)]
    member = await make_user()
    await another_nodes_booking(spaces[1], member, 10)
    ids = await _ids(3)
    rows = [
        _free_row(s, MISSING_USER if i == 2 else member.id, n, 10)
        for i, (s, n) in enumerate(zip(spaces, ids, strict=True))
    ]
    before = writer.groups

    results = await asyncio.gather(
        *(writer.write([NewBooking(r, "booking.confirmed")]) for r in rows)
    )

    assert writer.groups - before == 1, "three spaces' holds shared one statement"
    [won], [raced], [broken] = results
    assert isinstance(won, BookingRow) and won.id == rows[0].id
    assert isinstance(raced, SlotConflict)
    assert isinstance(broken, Exception) and not isinstance(broken, SlotConflict)
    assert [len(await live_in_space(s.id)) for s in spaces] == [1, 1, 0]
    assert await _confirmed_events(rows[0].id) == 2
    assert await _confirmed_events(rows[1].id) == 0


async def _ids(n: int) -> list[int]:
    rows = await db().execute_query_dict(
        "SELECT nextval('bookings_id_seq') AS id FROM generate_series(1, $1)", [n]
    )
    return [int(r["id"]) for r in rows]


async def _confirmed_events(booking_id: int) -> int:
    rows = await db().execute_query_dict(
        "SELECT count(*) AS n FROM outbox WHERE type = 'booking.confirmed' "
        "AND (payload->>'booking_id')::bigint = $1",
        [booking_id],
    )
    return int(rows[0]["n"])


# -- deadlocks: PostgreSQL aborts one of two writers waiting on each other -------------------
# Two nodes writing overlapping bookings at once can each wait on the other's uncommitted row
# under the exclusion constraint; PostgreSQL aborts one (40P01). The aborted side must run its
# write again, never answer 500 or crash the space's actor. "Another node" here is a
# transaction on its own connection that never runs the deadlock check itself (its
# deadlock_timeout is an hour), so the cycle is always broken on our side.


async def another_node_in_transaction(conn) -> Transaction:
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SET LOCAL deadlock_timeout = '1h'")
    return tx


async def insert_raw(conn, space, user, hour: float) -> None:
    start, end = at(hour)
    await conn.execute(
        "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status, "
        "price_cents, currency, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, 'confirmed', 0, 'EUR', now(), now())",
        space.id,
        space.location_id,
        user.id,
        start,
        end,
    )


async def blocked_on_a_lock(conn) -> None:
    """Until a backend other than `conn`'s waits on a lock (polled, with a deadline)."""
    await poll(
        lambda: conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid() AND datname = current_database()"
        ),
        bool,
    )


async def test_a_batch_aborted_to_break_a_deadlock_is_written_again(node, db):
    _, writer = node
    space = await make_space(await make_location(), hourly_price_cents=0)
    member = await make_user()
    ids = await _ids(2)
    rows = [_free_row(space, member.id, i, hour) for i, hour in zip(ids, (10, 11), strict=True)]
    tx = await another_node_in_transaction(db)
    await insert_raw(db, space, member, 11)  # uncommitted: our batch will wait on it

    ours = asyncio.create_task(writer.write([NewBooking(r, "booking.confirmed") for r in rows]))
    await blocked_on_a_lock(db)  # ours wrote 10:00 and waits at 11:00
    await insert_raw(db, space, member, 10)  # waits on ours: a cycle; ours is aborted
    await tx.rollback()  # the other node gives both slots up

    results = await ours
    assert all(isinstance(r, BookingRow) for r in results), results
    assert [s for s, _ in await live_in_space(space.id)] == [at(10)[0], at(11)[0]]
    assert await _confirmed_events(ids[0]) == 2  # written once, by the second attempt


async def test_an_actor_write_aborted_to_break_a_deadlock_runs_again(node, db):
    """A hold under a quota runs in its own transaction (`SpaceActor._commit`): it takes the
    member's quota lock, then waits on the other node's 10:00, which then wants that lock."""
    registry, _ = node
    location = await make_location(booking_rules={"max_concurrent_holds": 5})
    space = await make_space(location, hourly_price_cents=1000)
    member = await make_user()
    await registry.get(space.id)  # memory loaded first: it never sees the other node's row
    tx = await another_node_in_transaction(db)
    await insert_raw(db, space, member, 10)

    ours = asyncio.create_task(registry.ask(space.id, PlaceHold(Requester(member.id), *at(10))))
    await blocked_on_a_lock(db)
    await db.execute(  # the member's quota lock, held by ours: a cycle; ours is aborted
        "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || $1::int || ':' || $2::int, 0))",
        location.id,
        member.id,
    )
    await tx.rollback()

    row = await ours
    assert isinstance(row, BookingRow), row
    assert row.status is BookingStatus.HELD
    assert await held_events(row.id) == 2


def _free_row(space, user_id: int, booking_id: int, hour: float) -> BookingRow:
    """A confirmed free booking of `space` at `hour` tomorrow, its id reserved already."""
    start, end = at(hour)
    return BookingRow(
        id=booking_id,
        space_id=space.id,
        location_id=space.location_id,
        user_id=user_id,
        starts_at=start,
        ends_at=end,
        status=BookingStatus.CONFIRMED,
        price_cents=0,
        currency="EUR",
        expires_at=None,
        deadline_at=None,
        checked_in_at=None,
        cancel_reason=None,
        created_at=NOW,
    )
