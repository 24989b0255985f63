"""Webhook rules: what each event carries to an operator, backoff, give-up and disabling."""

from datetime import UTC, datetime, timedelta

import pytest

from cowork.domain.public_events import PERSONAL_ONLY, PUBLIC_FIELDS
from cowork.domain.webhooks import (
    WEBHOOK_EVENTS,
    Copy,
    RetryPolicy,
    disables_endpoint,
    unknown_events,
    webhook_data,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(hours=6), window=timedelta(days=3))
PRIVATE = {"note": "my dentist", "stripe_refund_id": "re_1", "refund_reason": "typed by staff"}


@pytest.mark.parametrize("event_type", sorted(WEBHOOK_EVENTS))
def test_every_webhook_event_is_a_published_type(event_type):
    """Fails if webhooks offer a type nobody publishes (or whose copy does not exist)."""
    copy = WEBHOOK_EVENTS[event_type].copy
    if copy is Copy.PUBLIC:
        assert event_type in PUBLIC_FIELDS
    else:
        assert event_type in PUBLIC_FIELDS or event_type in PERSONAL_ONLY


@pytest.mark.parametrize("event_type", sorted(WEBHOOK_EVENTS))
def test_private_fields_never_reach_an_endpoint(event_type):
    """Fails if a member's note or the payment provider's ids are sent to an operator."""
    copy = WEBHOOK_EVENTS[event_type].copy
    data = webhook_data(event_type, copy, {**PRIVATE, "booking_id": 1, "id": 2}, user_id=7)
    assert data is not None
    assert set(data) & set(PRIVATE) == set()


def test_each_event_is_sent_from_one_copy_only():
    """Fails if both the public and the personal copy of a booking event are sent (every
    endpoint would get each booking twice)."""
    payload = {"booking_id": 1, "status": "confirmed"}
    assert webhook_data("booking.confirmed", Copy.PUBLIC, payload, user_id=None) is None
    personal = webhook_data("booking.confirmed", Copy.PERSONAL, payload, user_id=7)
    assert personal == {**payload, "user_id": 7}
    assert webhook_data("space.updated", Copy.PERSONAL, {"id": 1}, user_id=7) is None
    assert webhook_data("booking.expiring", Copy.PERSONAL, payload, user_id=7) is None


def test_unknown_events_are_named():
    assert unknown_events(["booking.confirmed", "x", "x", "booking.exploded"]) == [
        "booking.exploded",
        "x",
    ]


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    """Fails if retries hammer a failing receiver (no growth) or wait without bound."""
    plain = [POLICY.delay(n, 0.0) for n in range(1, 6)]
    assert plain == [timedelta(seconds=s) for s in (5, 10, 20, 40, 80)]
    assert POLICY.delay(50, 0.0) == timedelta(hours=6)
    assert POLICY.delay(1, 0.999) < timedelta(seconds=6.01)
    assert POLICY.delay(10_000, 1.0) == timedelta(hours=6) * 1.2


def test_a_delivery_is_given_up_when_the_next_try_would_pass_its_window():
    give_up = T0 + POLICY.window
    assert POLICY.next_attempt(1, T0, give_up, 0.0) == T0 + timedelta(seconds=5)
    late = give_up - timedelta(hours=1)
    assert POLICY.next_attempt(30, late, give_up, 0.0) is None


def test_tries_span_up_to_the_window():
    """Fails if a delivery stops short of about three days of tries, or goes on after."""
    give_up, now, failures = T0 + POLICY.window, T0, 0
    while True:
        failures += 1
        nxt = POLICY.next_attempt(failures, now, give_up, 0.0)
        if nxt is None:
            break
        now = nxt
    assert give_up - POLICY.cap <= now <= give_up
    assert 14 <= failures <= 30


def test_disabling_needs_a_whole_retry_life_without_success():
    """Fails if one success during a delivery's retries does not keep the endpoint enabled,
    or if an endpoint that never answered stays enabled."""
    began = T0
    assert disables_endpoint(None, began)
    assert disables_endpoint(began - timedelta(days=1), began)
    assert not disables_endpoint(began + timedelta(hours=5), began)
