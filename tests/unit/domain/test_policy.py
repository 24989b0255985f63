from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cowork.domain.errors import InvalidInputError, InvalidPolicyError, NaiveDatetimeError
from cowork.domain.policy import (
    DEFAULT_POLICY,
    CancellationPolicy,
    RefundTier,
    refund_cents,
    refund_percent,
)

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_default_policy() -> None:
    assert DEFAULT_POLICY.to_list() == [
        {"hours_before": 24, "percent": 100},
        {"hours_before": 2, "percent": 50},
    ]


@pytest.mark.parametrize(
    ("before", "percent"),
    [
        (timedelta(days=3), 100),
        (timedelta(hours=24), 100),
        (timedelta(hours=23, minutes=59), 50),
        (timedelta(hours=2), 50),
        (timedelta(hours=1, minutes=59), 0),
        (timedelta(seconds=1), 0),
        (timedelta(0), 0),
        (-timedelta(hours=1), 0),
    ],
)
def test_default_tiers(before: timedelta, percent: int) -> None:
    assert refund_percent(DEFAULT_POLICY, starts_at=START, now=START - before) == percent


def test_zero_hour_tier_refunds_until_start_only() -> None:
    policy = CancellationPolicy((RefundTier(0, 30),))
    assert refund_percent(policy, starts_at=START, now=START - timedelta(seconds=1)) == 30
    assert refund_percent(policy, starts_at=START, now=START) == 0


def test_refund_cents_floors() -> None:
    now = START - timedelta(hours=3)
    assert refund_cents(999, DEFAULT_POLICY, starts_at=START, now=now) == 499
    assert refund_cents(0, DEFAULT_POLICY, starts_at=START, now=now) == 0
    with pytest.raises(InvalidInputError):
        refund_cents(-1, DEFAULT_POLICY, starts_at=START, now=now)


def test_naive_times_rejected() -> None:
    with pytest.raises(NaiveDatetimeError):
        refund_percent(DEFAULT_POLICY, starts_at=START, now=datetime(2026, 5, 1))


def test_from_list_sorts_and_round_trips() -> None:
    policy = CancellationPolicy.from_list(
        [
            {"hours_before": 2, "percent": 50},
            {"hours_before": 48, "percent": 100},
            {"hours_before": 24, "percent": 75},
        ]
    )
    assert [t.hours_before for t in policy.tiers] == [48, 24, 2]
    assert CancellationPolicy.from_list(policy.to_list()) == policy
    assert CancellationPolicy.from_list([]).tiers == ()


@pytest.mark.parametrize(
    "data",
    [
        [{"hours_before": 24, "percent": 101}],
        [{"hours_before": 24, "percent": -1}],
        [{"hours_before": -1, "percent": 10}],
        [{"hours_before": 24, "percent": 100}, {"hours_before": 24, "percent": 50}],
        [{"hours_before": "24", "percent": 100}],
        [{"hours_before": 24.0, "percent": 100}],
        [{"hours_before": True, "percent": 100}],
        [{"hours_before": 24}],
        [{"hours_before": 24, "percent": 100, "extra": 1}],
    ],
)
def test_invalid_policies(data: list[dict[str, object]]) -> None:
    with pytest.raises(InvalidPolicyError) as info:
        CancellationPolicy.from_list(data)
    assert info.value.code == "invalid_cancellation_policy"


tiers = st.lists(
    st.builds(RefundTier, st.integers(0, 24 * 30), st.integers(0, 100)),
    max_size=5,
    unique_by=lambda t: t.hours_before,
).map(lambda ts: CancellationPolicy(tuple(ts)))
offsets = st.integers(min_value=-48 * 3600, max_value=60 * 24 * 3600)


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(tiers, st.integers(0, 10**9), offsets)
def test_refund_never_exceeds_paid(policy: CancellationPolicy, paid: int, offset: int) -> None:
    now = START - timedelta(seconds=offset)
    refund = refund_cents(paid, policy, starts_at=START, now=now)
    assert 0 <= refund <= paid


@settings(database=None, deadline=None)  # no files written; no timing asserts
@given(tiers, offsets)
def test_percent_comes_from_a_tier_or_is_zero(policy: CancellationPolicy, offset: int) -> None:
    percent = refund_percent(policy, starts_at=START, now=START - timedelta(seconds=offset))
    assert percent == 0 or percent in {t.percent for t in policy.tiers}
    if offset <= 0:
        assert percent == 0
