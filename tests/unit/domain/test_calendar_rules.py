"""Calendar feed rules: the secret in a URL, UIDs and SEQUENCE."""

from datetime import UTC, datetime, timedelta

from cowork.domain.calendar import booking_uid, feed_token, sequence, token_hash

KEY = b"k" * 32


def test_a_feed_token_is_derived_and_changes_with_its_nonce_and_key():
    """Fails if two feeds share a token, if rotating (a new nonce) keeps the old one, or if
    the token can be made without the server's key."""
    token = feed_token(KEY, 1, "n1")
    assert token == feed_token(KEY, 1, "n1")
    assert len({token, feed_token(KEY, 2, "n1"), feed_token(KEY, 1, "n2")}) == 3
    assert feed_token(b"x" * 32, 1, "n1") != token
    assert len(token) == 43 and token_hash(token) != token


def test_sequence_grows_with_each_change_and_fits_32_bits():
    """Fails if a change a second later keeps the SEQUENCE (apps keep the old version)."""
    t = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert sequence(t + timedelta(seconds=1)) > sequence(t)
    assert 0 <= sequence(datetime(2087, 12, 31, tzinfo=UTC)) < 2**31


def test_uid_is_one_per_booking():
    assert booking_uid(7, "cowork.example") == "booking-7@cowork.example"
