"""Model-based test: random command sequences against a real SpaceActor and PostgreSQL,
checked step by step against a tiny reference model and the transition table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cowork.actors.commands import (
    SYSTEM,
    Cancel,
    CheckIn,
    Confirm,
    PlaceHold,
    Requester,
    Reschedule,
)
from cowork.actors.registry import ActorRegistry
from cowork.actors.space import SpaceActor, SpaceTiming
from cowork.actors.timer import TimerActor
from cowork.clock import ManualClock
from cowork.domain.errors import DomainError
from cowork.domain.states import LIVE_STATUSES, TRANSITIONS, BookingStatus
from cowork.metrics import Metrics
from cowork.store.db import db
from tests.factories import make_location, make_space, make_user

HOLD_TTL = timedelta(minutes=10)
GRACE = timedelta(minutes=15)
START = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)  # a Monday, far from any real "now"

hold = st.tuples(st.just("hold"), st.integers(1, 40), st.integers(1, 8))
cancel = st.tuples(st.just("cancel"), st.integers(0, 30), st.just(0))
move = st.tuples(st.just("reschedule"), st.integers(0, 30), st.integers(1, 40))
advance = st.tuples(st.just("advance"), st.integers(1, 16), st.just(0))  # quarter hours
confirm = st.tuples(st.just("confirm"), st.integers(0, 30), st.just(0))
check_in = st.tuples(st.just("check_in"), st.integers(0, 30), st.just(0))
commands = st.lists(
    st.one_of(hold, cancel, move, advance, confirm, check_in), min_size=1, max_size=25
)


async def live_rows(space_id: int) -> dict[int, tuple[datetime, datetime, str]]:
    rows = await db().execute_query_dict(
        "SELECT id, starts_at, ends_at, status FROM bookings WHERE space_id = $1", [space_id]
    )
    return {r["id"]: (r["starts_at"], r["ends_at"], r["status"]) for r in rows}


@pytest.fixture
async def engine(orm):
    clock = ManualClock(START)
    metrics = Metrics()
    timing = SpaceTiming(hold_ttl=HOLD_TTL, no_show_grace=GRACE)
    timer_box: list[TimerActor] = []

    def factory(space_id: int) -> SpaceActor:
        return SpaceActor(
            space_id,
            clock=clock,
            timing=timing,
            mailbox_size=64,
            idle_seconds=None,
            after_commit=lambda _: None,
        )

    registry = ActorRegistry(factory, metrics)
    timer_box.append(TimerActor(registry, clock, metrics))
    loc = await make_location()
    user = await make_user()
    yield clock, registry, timer_box[0], loc, user
    await registry.stop()


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=commands)
async def test_random_commands_follow_the_model(engine, steps):
    clock, registry, timer, loc, user = engine
    clock.set(START)
    space = await make_space(loc, hourly_price_cents=1000)  # a fresh space per example
    me = Requester(user_id=user.id)
    model: dict[int, list] = {}  # id -> [start, end, status, expires_at]
    seen: dict[int, str] = {}

    def live_overlap(start, end, ignore=None):
        return any(
            b[2] in {"held", "confirmed", "checked_in"}
            and b[0] < end
            and start < b[1]
            and i != ignore
            for i, b in model.items()
        )

    for op, a, b in steps:
        ids = sorted(model)
        base = clock.now().replace(minute=0) + timedelta(hours=1)
        if op == "hold":
            start = base + timedelta(hours=a)
            end = start + timedelta(hours=b)
            expected_ok = not live_overlap(start, end)
            try:
                row = await registry.ask(space.id, PlaceHold(me, start, end))
                assert expected_ok, "actor accepted an overlapping hold"
                model[row.id] = [start, end, "held", clock.now() + HOLD_TTL]
            except DomainError as exc:
                assert not expected_ok, f"hold refused without a conflict: {exc.code}"
        elif op == "cancel" and ids:
            target = ids[a % len(ids)]
            try:
                await registry.ask(space.id, Cancel(me, target))
                model[target][2] = "cancelled"
            except DomainError:
                assert model[target][2] not in {"held", "confirmed"}
        elif op == "reschedule" and ids:
            target = ids[a % len(ids)]
            start = base + timedelta(hours=b)
            end = start + (model[target][1] - model[target][0])
            allowed = model[target][2] in {"held", "confirmed"} and not live_overlap(
                start, end, ignore=target
            )
            try:
                await registry.ask(space.id, Reschedule(me, target, start, end))
                assert allowed, "actor moved a booking the model would not move"
                model[target][0], model[target][1] = start, end
            except DomainError as exc:
                assert not allowed, f"reschedule refused without a reason: {exc.code}"
        elif op == "advance":
            clock.advance(timedelta(minutes=15 * a))
            await timer.sweep()
            now = clock.now()
            for rec in model.values():
                if rec[2] == "held" and rec[3] <= now:
                    rec[2] = "expired"
                elif rec[2] == "confirmed" and rec[0] + GRACE <= now:
                    rec[2] = "no_show"
                elif rec[2] == "checked_in" and rec[1] <= now:
                    rec[2] = "completed"
        elif op == "confirm" and ids:
            target = ids[a % len(ids)]
            rec = model[target]
            revivable = rec[2] == "expired" and not live_overlap(rec[0], rec[1], ignore=target)
            price = (
                await db().execute_query_dict(
                    "SELECT price_cents, currency FROM bookings WHERE id = $1", [target]
                )
            )[0]
            try:
                await registry.ask(
                    space.id, Confirm(target, price["price_cents"], price["currency"])
                )
                assert rec[2] == "held" or revivable
                rec[2] = "confirmed"
            except DomainError:
                assert not (rec[2] == "held" or revivable)
        elif op == "check_in" and ids:
            target = ids[a % len(ids)]
            rec = model[target]
            now = clock.now()
            allowed = (
                rec[2] == "confirmed" and rec[0] - timedelta(minutes=15) <= now < rec[0] + GRACE
            )
            try:
                await registry.ask(space.id, CheckIn(me, target))
                assert allowed
                rec[2] = "checked_in"
            except DomainError:
                assert not allowed

        rows = await live_rows(space.id)
        # the database agrees with the model on every booking's state
        for booking_id, (_, _, status) in rows.items():
            if booking_id not in model:
                continue
            assert status == model[booking_id][2], (booking_id, status, model[booking_id])
            before = seen.get(booking_id)
            if before is not None and before != status:
                assert any(
                    TRANSITIONS.get((BookingStatus(before), act)) == BookingStatus(status)
                    for act in _actions()
                ), (before, status)
            seen[booking_id] = status
        # live bookings never overlap
        live = sorted((s, e) for s, e, st_ in rows.values() if BookingStatus(st_) in LIVE_STATUSES)
        for (_s1, e1), (s2, _) in itertools.pairwise(live):
            assert e1 <= s2


def _actions():
    from cowork.domain.states import BookingAction

    return list(BookingAction)


async def test_system_requester_is_staff():
    assert SYSTEM.is_staff_of(123)
