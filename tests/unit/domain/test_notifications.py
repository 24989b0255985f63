from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cowork.domain.errors import InvalidTimezoneError, NaiveDatetimeError
from cowork.domain.notifications import (
    KIND_OF_EVENT,
    URGENT,
    Channel,
    Defer,
    InvalidPreferencesError,
    Kind,
    MailTemplate,
    Preferences,
    QuietHours,
    Send,
    Skip,
    decide,
    mail_templates,
    minutes_left,
    normalize_locale,
    quiet_until,
    refund_cents,
    reminder_at,
    stale_at,
)

ROME = ZoneInfo("Europe/Rome")
NIGHT = QuietHours(time(22, 0), time(7, 0))
LUNCH = QuietHours(time(13, 0), time(14, 0))


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def quiet(**kw: object) -> Preferences:
    return Preferences(quiet_hours=NIGHT, **kw)  # type: ignore[arg-type]


def test_overnight_window_ends_next_morning_local_time() -> None:
    # 23:30 in Rome (winter, UTC+1): quiet until 07:00 Rome tomorrow = 06:00 UTC.
    assert quiet_until(rome(2026, 1, 10, 23, 30), NIGHT, ROME) == datetime(
        2026, 1, 11, 6, 0, tzinfo=UTC
    )
    # 05:00 the same night: ends this morning.
    assert quiet_until(rome(2026, 1, 11, 5, 0), NIGHT, ROME) == datetime(
        2026, 1, 11, 6, 0, tzinfo=UTC
    )


def test_outside_the_window_is_not_quiet() -> None:
    assert quiet_until(rome(2026, 1, 10, 21, 59), NIGHT, ROME) is None
    assert quiet_until(rome(2026, 1, 10, 7, 0), NIGHT, ROME) is None  # the end is exclusive
    assert quiet_until(rome(2026, 1, 10, 13, 30), LUNCH, ROME) == rome(2026, 1, 10, 14, 0)
    assert quiet_until(rome(2026, 1, 10, 14, 0), LUNCH, ROME) is None


def test_window_ending_in_the_repeated_hour_when_dst_ends() -> None:
    # 25 Oct 2026, Rome: 03:00 CEST → 02:00 CET, so 02:00-02:59 happens twice. At 02:10 of the
    # second pass (01:10 UTC) a window ending 02:30 ends at 02:30 CET = 01:30 UTC, not in the past.
    late = QuietHours(time(22, 0), time(2, 30))
    now = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    assert quiet_until(now, late, ROME) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_window_ending_in_the_skipped_hour_when_dst_starts() -> None:
    # 29 Mar 2026, Rome: 02:00 CET → 03:00 CEST; 02:30 does not exist. The window ends when
    # the wall clock first reads later than 02:30 would have, 03:30 CEST.
    late = QuietHours(time(22, 0), time(2, 30))
    now = datetime(2026, 3, 29, 0, 45, tzinfo=UTC)  # 01:45 CET
    end = quiet_until(now, late, ROME)
    assert end is not None and end > now
    assert end.astimezone(ROME).time() >= time(2, 30)


@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from([NIGHT, LUNCH, QuietHours(time(0, 0), time(6, 0))]),
    st.sampled_from(["Europe/Rome", "America/New_York", "Australia/Lord_Howe", "UTC"]),
)
def test_quiet_window_always_ends_later_and_outside_itself(
    now: datetime, window: QuietHours, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    end = quiet_until(now, window, zone)
    if end is None:
        assert not window.covers(now.astimezone(zone).time().replace(tzinfo=None))
        return
    assert now < end <= now + timedelta(hours=25)
    assert quiet_until(end, window, zone) is None


def test_decide_sends_holds_or_skips() -> None:
    night = rome(2026, 1, 10, 23, 0)
    day = rome(2026, 1, 10, 12, 0)
    prefs = quiet()
    assert decide(Kind.CONFIRMED, Channel.PUSH, prefs, day, ROME) == Send()
    assert decide(Kind.CONFIRMED, Channel.PUSH, prefs, night, ROME) == Defer(
        datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    )
    # Quiet hours silence pushes, not e-mail.
    assert decide(Kind.CONFIRMED, Channel.EMAIL, prefs, night, ROME) == Send()
    # Urgent kinds break through, unless the member said no.
    assert decide(Kind.HOLD_EXPIRING, Channel.PUSH, prefs, night, ROME) == Send()
    strict = quiet(urgent_during_quiet_hours=False)
    assert isinstance(decide(Kind.HOLD_EXPIRING, Channel.PUSH, strict, night, ROME), Defer)
    off = Preferences(push=frozenset({Kind.CANCELLED}))
    assert decide(Kind.CONFIRMED, Channel.PUSH, off, day, ROME) == Skip("disabled")


def test_a_push_that_could_only_arrive_too_late_is_skipped() -> None:
    night = rome(2026, 1, 10, 23, 0)
    starts = rome(2026, 1, 11, 6, 30)  # before quiet hours end at 07:00
    assert decide(Kind.REMINDER, Channel.PUSH, quiet(), night, ROME, starts) == Skip("stale")
    assert decide(Kind.CONFIRMED, Channel.PUSH, Preferences(), starts, ROME, starts) == Skip(
        "stale"
    )


def test_decide_refuses_naive_now() -> None:
    with pytest.raises(NaiveDatetimeError):
        decide(Kind.CONFIRMED, Channel.PUSH, Preferences(), datetime(2026, 1, 1), ROME)


def test_preferences_are_validated() -> None:
    with pytest.raises(InvalidPreferencesError):
        QuietHours(time(7, 0), time(7, 0))
    with pytest.raises(InvalidPreferencesError):
        Preferences(reminder_lead_minutes=1)
    with pytest.raises(InvalidPreferencesError):
        Preferences(locale="fr")
    with pytest.raises(InvalidTimezoneError):
        Preferences(timezone="Mars/Olympus")
    assert Preferences(timezone="Europe/Rome").timezone == "Europe/Rome"


def test_every_urgent_kind_is_reachable_from_an_event() -> None:
    assert set(URGENT) <= set(KIND_OF_EVENT.values())
    assert KIND_OF_EVENT.get("booking.held") is None  # the member just did it: no push


def test_mail_templates_and_refunds() -> None:
    assert mail_templates("booking.confirmed", 1500) == (
        MailTemplate.CONFIRMATION,
        MailTemplate.RECEIPT,
    )
    assert mail_templates("booking.confirmed", 0) == (MailTemplate.CONFIRMATION,)
    assert mail_templates("booking.cancelled", 1500) == (MailTemplate.CANCELLATION,)
    assert mail_templates("booking.checked_in", 1500) == ()
    assert refund_cents(1999, 50) == 999
    assert refund_cents(1000, 150) == 1000


def test_stale_and_reminder_instants() -> None:
    start, end = rome(2026, 1, 10, 9, 0), rome(2026, 1, 10, 10, 0)
    until = rome(2026, 1, 10, 8, 50)
    assert stale_at("booking.reminder", start=start, end=end, until=None) == start
    assert stale_at("booking.expiring", start=start, end=end, until=until) == until
    assert stale_at("booking.refunded", start=start, end=end, until=None) is None
    assert stale_at("booking.confirmed", start=start, end=end, until=None) == end
    assert reminder_at(start, 15) == rome(2026, 1, 10, 8, 45)


def test_minutes_left_says_the_lead_even_when_fired_a_little_late() -> None:
    """Fault: "starts in 14 minutes" for a 15-minute reminder fired 2 s late, or "starts in
    0 minutes" for one fired in its last seconds."""
    start = rome(2026, 1, 10, 9, 0)
    assert minutes_left(start, start - timedelta(minutes=15) + timedelta(seconds=2)) == 15
    assert minutes_left(start, start - timedelta(minutes=8, seconds=20)) == 8
    assert minutes_left(start, start - timedelta(seconds=10)) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("it-IT", "it"), ("it_CH", "it"), ("EN", "en"), ("fr", "en"), (None, "en")],
)
def test_locales(raw: str | None, expected: str) -> None:
    assert normalize_locale(raw) == expected
