"""What a provider's answer means for a delivery, and when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: try again later
    GONE = "gone"  # the device no longer exists: forget it
    FAILED = "failed"  # permanent: another attempt would fail the same way


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    # A Retry-After beyond this means the provider will not take it in any useful time.
    max_wait_seconds: float = 6 * 3600.0


def classify_http(status: int | None, *, unregistered: bool = False) -> Outcome:
    """A push service's HTTP status: 2xx sent; 404/410 or "unregistered" gone; no answer,
    408, 429 and 5xx transient; any other 4xx permanent."""
    if unregistered:
        return Outcome.GONE
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (404, 410):
        return Outcome.GONE
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED


def classify_smtp(code: int | None) -> Outcome:
    """An SMTP reply: 2xx sent, 4xx (or no reply) transient, 5xx permanent."""
    if code is None or 400 <= code < 500:
        return Outcome.RETRY
    if 200 <= code < 300:
        return Outcome.SENT
    return Outcome.FAILED


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """A Retry-After value (delta-seconds or an HTTP-date) as seconds from `now`."""
    if header is None or not header.strip():
        return None
    raw = header.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_attempt(
    attempts: int,
    now: datetime,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    jitter: float = 0.0,
) -> datetime | None:
    """When to try again after `attempts` tries, or None to give up.

    Exponential backoff (base x 2^(attempts-1), capped), spread by `jitter` in [0, 1) so that
    retries of one outage do not arrive together; never earlier than the provider's
    Retry-After; give up after `max_attempts` or when the provider asks for too long a wait.
    """
    if attempts >= policy.max_attempts:
        return None
    backoff = min(policy.cap_seconds, policy.base_seconds * 2 ** max(0, attempts - 1))
    delay = backoff * (0.5 + 0.5 * max(0.0, min(1.0, jitter)))
    if retry_after is not None:
        if retry_after > policy.max_wait_seconds:
            return None
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
