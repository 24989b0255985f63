"""Public events say what happened to a slot or a space, never who.

Fault it catches: a personal field (user id, e-mail, price paid, a member's cancel reason or
note, refund amounts) reaching the anonymous location and space streams, or a new event type
published without anyone deciding what of it is public.
"""

import pytest

from cowork.domain.public_events import (
    PERSONAL_ONLY,
    PUBLIC_FIELDS,
    UnknownEventError,
    public_view,
)
from cowork.domain.states import EVENT_OF

# Every event type the platform emits (booking states, plus the ones written by hand).
EMITTED = {
    *EVENT_OF.values(),
    "booking.rescheduled",
    "booking.refunded",
    "booking.expiring",
    "booking.reminder",
    "booking.check_in_open",
    "booking.approved",
    "waitlist.offer",
    "series.created",
    "series.cancelled",
    "space.updated",
    "location.updated",
    "webhook.disabled",
}
SECRETS = {
    "user_id": 7,
    "email": "a@example.com",
    "user_name": "Ada",
    "price_cents": 1000,
    "reason": "my dentist",
    "cancel_reason": "other",
    "note": "my dentist",
    "refund_cents": 500,
    "refund_percent": 50,
    "amount_cents": 500,
    "stripe_refund_id": "re_1",
    "expires_at": "2030-01-01T00:00:00+00:00",
}


@pytest.mark.parametrize("event_type", sorted(EMITTED))
def test_every_emitted_type_has_a_decided_visibility(event_type):
    assert event_type in PUBLIC_FIELDS or event_type in PERSONAL_ONLY


@pytest.mark.parametrize("event_type", sorted(EMITTED))
def test_no_personal_field_is_ever_public(event_type):
    view = public_view(event_type, {**SECRETS, "booking_id": 1, "space_id": 2, "status": "x"})
    if event_type in PERSONAL_ONLY:
        assert view is None
    else:
        assert view is not None
        assert set(view) & set(SECRETS) == set()


def test_a_slot_event_keeps_what_a_floor_map_needs():
    view = public_view(
        "booking.rescheduled",
        {"booking_id": 1, "space_id": 2, "start": "a", "end": "b", "status": "held",
         "previous_start": "c", "previous_end": "d", "user_id": 9},
    )  # fmt: skip
    assert view == {
        "booking_id": 1, "space_id": 2, "start": "a", "end": "b", "status": "held",
        "previous_start": "c", "previous_end": "d",
    }  # fmt: skip


def test_an_undecided_event_type_is_refused():
    with pytest.raises(UnknownEventError):
        public_view("booking.something_new", {"booking_id": 1})


@pytest.mark.parametrize("event_type", ["waitlist.offer", "series.created", "series.cancelled"])
def test_a_members_waitlist_and_series_never_reach_the_public(event_type):
    """Fault: who waits for a slot, or books every Monday, shown on a public floor map."""
    assert public_view(event_type, {"booking_id": 1, "space_id": 2, "status": "held"}) is None
