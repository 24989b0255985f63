import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cowork.domain.errors import SlotTakenError
from cowork.domain.slots import Slot
from cowork.domain.timeline import Timeline, free_intervals

T0 = datetime(2026, 5, 4, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def span(a: int, b: int) -> Slot:
    return Slot(at(a), at(b))


def test_add_get_remove() -> None:
    tl = Timeline()
    tl.add(1, span(0, 60))
    tl.add(2, span(60, 120))
    assert len(tl) == 2
    assert tl.get(1) == span(0, 60)
    assert 2 in tl
    assert list(tl) == [(1, span(0, 60)), (2, span(60, 120))]
    assert tl.remove(1) == span(0, 60)
    assert tl.remove(1) is None
    assert tl.get(1) is None
    assert len(tl) == 1


def test_add_rejects_overlap_and_keeps_state() -> None:
    tl = Timeline()
    tl.add(1, span(0, 60))
    tl.add(2, span(120, 180))
    with pytest.raises(SlotTakenError) as info:
        tl.add(3, span(30, 150))
    assert info.value.code == "slot_taken"
    assert info.value.extra == {"conflicts": [1, 2]}
    assert len(tl) == 2
    assert tl.get(3) is None


def test_add_existing_id_moves_it() -> None:
    tl = Timeline()
    tl.add(1, span(0, 60))
    tl.add(1, span(30, 90))  # overlaps only itself
    assert tl.get(1) == span(30, 90)
    assert len(tl) == 1
    assert tl.conflicts(span(0, 30)) == []


def test_conflicts_half_open_and_ignore() -> None:
    tl = Timeline()
    tl.add(1, span(0, 60))
    tl.add(2, span(60, 120))
    tl.add(3, span(200, 260))
    assert tl.conflicts(span(60, 120)) == [2]
    assert tl.conflicts(span(59, 61)) == [1, 2]
    assert tl.conflicts(span(59, 61), ignore=1) == [2]
    assert tl.conflicts(span(120, 200)) == []
    assert tl.busy(span(0, 1000)) == [(1, span(0, 60)), (2, span(60, 120)), (3, span(200, 260))]


def test_prune_drops_ended_slots() -> None:
    tl = Timeline()
    tl.add(1, span(0, 60))
    tl.add(2, span(60, 120))
    tl.add(3, span(120, 180))
    assert tl.prune(at(120)) == [1, 2]
    assert list(tl) == [(3, span(120, 180))]
    assert tl.get(1) is None
    assert tl.prune(at(119)) == []


pairs = st.tuples(st.integers(0, 300), st.integers(1, 60)).map(lambda p: (p[0], p[0] + p[1]))


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(st.lists(st.tuples(st.integers(1, 20), pairs), max_size=40), st.lists(pairs, max_size=10))
def test_conflicts_agree_with_brute_force(
    ops: list[tuple[int, tuple[int, int]]], queries: list[tuple[int, int]]
) -> None:
    tl = Timeline()
    model: dict[int, Slot] = {}
    for booking_id, (a, b) in ops:
        slot = span(a, b)
        clashing = sorted(
            (s.start, i) for i, s in model.items() if i != booking_id and s.overlaps(slot)
        )
        if clashing:
            with pytest.raises(SlotTakenError):
                tl.add(booking_id, slot)
        else:
            tl.add(booking_id, slot)
            model[booking_id] = slot
    assert len(tl) == len(model)
    assert dict(tl) == model
    for a, b in queries:
        q = span(a, b)
        expected = [i for _, i in sorted((s.start, i) for i, s in model.items() if s.overlaps(q))]
        assert tl.conflicts(q) == expected
        assert [i for i, _ in tl.busy(q)] == expected
        if expected:
            assert tl.conflicts(q, ignore=expected[0]) == expected[1:]


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(st.lists(st.tuples(st.integers(1, 20), pairs), max_size=40), st.integers(0, 400))
def test_prune_agrees_with_brute_force(ops: list[tuple[int, tuple[int, int]]], cut: int) -> None:
    tl = Timeline()
    model: dict[int, Slot] = {}
    for booking_id, (a, b) in ops:
        try:
            tl.add(booking_id, span(a, b))
            model[booking_id] = span(a, b)
        except SlotTakenError:
            pass
    dropped = tl.prune(at(cut))
    assert set(dropped) == {i for i, s in model.items() if s.end <= at(cut)}
    assert dict(tl) == {i: s for i, s in model.items() if s.end > at(cut)}


def test_free_intervals_example() -> None:
    window = span(0, 600)
    open_ = [span(60, 300), span(360, 700)]
    busy = [span(90, 120), span(100, 150), span(280, 400), span(500, 800)]
    assert free_intervals(window, busy, open_) == [
        span(60, 90),
        span(150, 280),
        span(400, 500),
    ]
    assert free_intervals(window, [], []) == []
    assert free_intervals(window, [], [span(-50, 1000)]) == [window]


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(pairs, st.lists(pairs, max_size=8), st.lists(pairs, max_size=8))
def test_free_intervals_agree_with_minute_grid(
    w: tuple[int, int], busy: list[tuple[int, int]], open_: list[tuple[int, int]]
) -> None:
    window = span(*w)
    busy_slots = [span(*b) for b in busy]
    free = free_intervals(window, busy_slots, [span(*o) for o in open_])
    for f in free:
        assert window.covers(f)
        assert not any(f.overlaps(b) for b in busy_slots)
    for before, after in itertools.pairwise(free):
        assert before.end < after.start  # sorted, disjoint, maximal
    free_minutes = {m for f in free for m in range(*_minutes(f))}
    expected = {
        m
        for m in range(*w)
        if any(a <= m < b for a, b in open_) and not any(a <= m < b for a, b in busy)
    }
    assert free_minutes == expected


def _minutes(slot: Slot) -> tuple[int, int]:
    return (
        (slot.start - T0) // timedelta(minutes=1),
        (slot.end - T0) // timedelta(minutes=1),
    )
