"""A booking's JSON and its declared schema are one thing.

Fault it catches: a field added to (or renamed in) `BookingRow.to_json` but not in the
`BookingJson` the OpenAPI document publishes, or the other way round.
"""

from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from cowork.domain.states import BookingStatus
from cowork.store.bookings import BookingJson, BookingRow

NOW = datetime(2030, 1, 1, 9, tzinfo=UTC)


def test_to_json_is_a_booking_json():
    row = BookingRow(
        1, 2, 3, 4, NOW, NOW + timedelta(hours=1), BookingStatus.HELD, 1000, "EUR",
        NOW + timedelta(minutes=10), NOW, None, None, NOW,
    )  # fmt: skip
    body = row.to_json()
    assert set(body) == set(BookingJson.__annotations__)
    parsed = TypeAdapter(BookingJson).validate_python(body)
    assert parsed["start"] == NOW
    assert parsed["status"] is BookingStatus.HELD
