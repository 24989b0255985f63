from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.delivery import (
    Outcome,
    RetryPolicy,
    classify_http,
    classify_smtp,
    next_attempt,
    retry_after_seconds,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_seconds=2, cap_seconds=60, max_wait_seconds=3600)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (201, Outcome.SENT),
        (200, Outcome.SENT),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (429, Outcome.RETRY),
        (408, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (None, Outcome.RETRY),
        (400, Outcome.FAILED),
        (403, Outcome.FAILED),
        (413, Outcome.FAILED),
    ],
)
def test_http_status_meaning(status: int | None, outcome: Outcome) -> None:
    assert classify_http(status) is outcome


def test_unregistered_means_gone_whatever_the_status() -> None:
    assert classify_http(400, unregistered=True) is Outcome.GONE


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(250, Outcome.SENT), (421, Outcome.RETRY), (None, Outcome.RETRY), (550, Outcome.FAILED)],
)
def test_smtp_reply_meaning(code: int | None, outcome: Outcome) -> None:
    assert classify_smtp(code) is outcome


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds("Mon, 01 Jun 2026 12:05:00 GMT", NOW) == 300.0
    assert retry_after_seconds("Mon, 01 Jun 2026 11:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [(next_attempt(n, NOW, POLICY, jitter=1.0) or NOW) - NOW for n in range(1, 5)]
    assert delays == [timedelta(seconds=s) for s in (2, 4, 8, 16)]
    capped = next_attempt(4, NOW, RetryPolicy(max_attempts=99, base_seconds=2, cap_seconds=5))
    assert capped is not None and capped - NOW <= timedelta(seconds=5)


def test_jitter_spreads_within_half_to_full_backoff() -> None:
    low = next_attempt(3, NOW, POLICY, jitter=0.0)
    high = next_attempt(3, NOW, POLICY, jitter=0.999)
    assert low == NOW + timedelta(seconds=4)
    assert high is not None and NOW + timedelta(seconds=7.9) < high <= NOW + timedelta(seconds=8)


def test_retry_after_is_honoured_over_a_shorter_backoff() -> None:
    assert next_attempt(1, NOW, POLICY, retry_after=120) == NOW + timedelta(seconds=120)


def test_gives_up_after_max_attempts_or_an_absurd_retry_after() -> None:
    assert next_attempt(5, NOW, POLICY) is None
    assert next_attempt(1, NOW, POLICY, retry_after=86400) is None
