"""Who hears about what, and when: notification kinds, member preferences, quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cowork.domain.errors import InvalidInputError, NaiveDatetimeError
from cowork.domain.problems import Problem
from cowork.domain.timezones import load_zone


class Kind(StrEnum):
    """What a notification is about; preferences switch kinds on and off per channel."""

    HOLD_EXPIRING = "hold_expiring"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    CHECK_IN_OPEN = "check_in_open"
    NO_SHOW = "no_show"
    WAITLIST_OFFER = "waitlist_offer"


class Channel(StrEnum):
    PUSH = "push"
    EMAIL = "email"


class MailTemplate(StrEnum):
    CONFIRMATION = "confirmation"
    RECEIPT = "receipt"
    CANCELLATION = "cancellation"
    REFUND = "refund"
    HOLD_EXPIRING = "hold_expiring"


# Worthless if late: these may break through quiet hours (when the member allows it).
URGENT: frozenset[Kind] = frozenset(
    {Kind.HOLD_EXPIRING, Kind.CHECK_IN_OPEN, Kind.NO_SHOW, Kind.WAITLIST_OFFER}
)

# Event types (personal subjects) that reach a member's devices. Anything else (held,
# checked_in, completed: things the member just did) stays in the app.
KIND_OF_EVENT: dict[str, Kind] = {
    "booking.expiring": Kind.HOLD_EXPIRING,
    "booking.expired": Kind.HOLD_EXPIRING,
    "booking.confirmed": Kind.CONFIRMED,
    "booking.rescheduled": Kind.CONFIRMED,
    "booking.cancelled": Kind.CANCELLED,
    "booking.refunded": Kind.CANCELLED,
    "booking.reminder": Kind.REMINDER,
    "booking.check_in_open": Kind.CHECK_IN_OPEN,
    "booking.no_show_warning": Kind.NO_SHOW,
    "booking.no_show": Kind.NO_SHOW,
    "waitlist.offer": Kind.WAITLIST_OFFER,
    # A request's decision: approved is a confirmation (or a hold to pay), declined a
    # cancellation, so members' existing preferences for those kinds apply.
    "booking.approved": Kind.CONFIRMED,
    "booking.declined": Kind.CANCELLED,
}

LOCALES = ("en", "it")
MIN_REMINDER_LEAD = 5
MAX_REMINDER_LEAD = 24 * 60


class InvalidPreferencesError(InvalidInputError):
    problem = Problem.INVALID_NOTIFICATION_PREFERENCES


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in the member's local time; `start` > `end` spans midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidPreferencesError("quiet hours must start and end at different times")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidPreferencesError("quiet hours are local wall-clock times, no offset")

    def covers(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class Preferences:
    push: frozenset[Kind] = frozenset(Kind)
    email: frozenset[Kind] = frozenset({Kind.CONFIRMED, Kind.CANCELLED, Kind.HOLD_EXPIRING})
    reminder_lead_minutes: int = 15
    quiet_hours: QuietHours | None = None
    timezone: str | None = None  # None: the booking's location time zone
    urgent_during_quiet_hours: bool = True
    locale: str = "en"

    def __post_init__(self) -> None:
        if not MIN_REMINDER_LEAD <= self.reminder_lead_minutes <= MAX_REMINDER_LEAD:
            raise InvalidPreferencesError(
                f"reminder_lead_minutes must be between {MIN_REMINDER_LEAD} and {MAX_REMINDER_LEAD}"
            )
        if self.locale not in LOCALES:
            raise InvalidPreferencesError(f"locale must be one of {', '.join(LOCALES)}")
        if self.timezone is not None:
            load_zone(self.timezone)  # InvalidTimezoneError (422) for an unknown zone

    def enabled(self, channel: Channel) -> frozenset[Kind]:
        return self.push if channel is Channel.PUSH else self.email


DEFAULT_PREFERENCES = Preferences()


def normalize_locale(raw: str | None) -> str:
    """`it-IT`, `it_IT`, `IT` → `it`; anything we do not translate → `en`."""
    if not raw:
        return "en"
    head = raw.replace("_", "-").split("-")[0].strip().lower()
    return head if head in LOCALES else "en"


@dataclass(frozen=True, slots=True)
class Send:
    pass


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str  # "disabled" | "stale"


Decision = Send | Defer | Skip


def decide(
    kind: Kind,
    channel: Channel,
    prefs: Preferences,
    now: datetime,
    zone: ZoneInfo,
    stale_at: datetime | None = None,
) -> Decision:
    """Send now, hold until quiet hours end, or skip (kind switched off, or too late to matter).

    Quiet hours hold pushes only (an e-mail makes no sound); an urgent kind breaks through
    them when the member allows it; a push that could only arrive after it stopped mattering
    (`stale_at`) is skipped.
    """
    _aware(now)
    if kind not in prefs.enabled(channel):
        return Skip("disabled")
    if stale_at is not None and now >= stale_at:
        return Skip("stale")
    if channel is Channel.EMAIL or prefs.quiet_hours is None:
        return Send()
    if kind in URGENT and prefs.urgent_during_quiet_hours:
        return Send()
    until = quiet_until(now, prefs.quiet_hours, zone)
    if until is None:
        return Send()
    if stale_at is not None and until >= stale_at:
        return Skip("stale")
    return Defer(until)


def quiet_until(now: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime | None:
    """When the quiet window containing `now` ends (an aware UTC instant), or None if outside."""
    _aware(now)
    local = now.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if not quiet.covers(wall):
        return None
    day = local.date()
    if quiet.start > quiet.end and wall >= quiet.start:
        day += timedelta(days=1)  # the window spans midnight: it ends tomorrow
    end = _instant(day, quiet.end, zone)
    # A wall time that occurs twice (DST ends) resolves to its first occurrence; when that is
    # already past we are in the repeated hour, and the window ends at the second one.
    return end if end > now else end + timedelta(hours=1)


# The timer's reminder deadlines (cowork.store.reminders): their kind → the event they emit.
REMINDER_EVENTS: dict[str, str] = {
    "reminder": "booking.reminder",
    "check_in_open": "booking.check_in_open",
}


def reminder_at(starts_at: datetime, lead_minutes: int) -> datetime:
    """The instant a "starts in N minutes" reminder is due."""
    _aware(starts_at)
    return starts_at - timedelta(minutes=lead_minutes)


def minutes_left(starts_at: datetime, now: datetime) -> int:
    """What "starts in N minutes" says when sent at `now`: the whole minutes to the start,
    rounded (a reminder fired a few seconds late still says the member's lead), at least 1."""
    _aware(starts_at)
    _aware(now)
    return max(1, round((starts_at - now).total_seconds() / 60))


def stale_at(
    event_type: str, *, start: datetime, end: datetime, until: datetime | None
) -> datetime | None:
    """When a push about this event stops being worth sending: its call to action's deadline,
    a reminder's start, a booking's end; news about money never goes stale."""
    kind = KIND_OF_EVENT.get(event_type)
    if until is not None:
        return until
    if kind is Kind.REMINDER:
        return start
    if kind is Kind.CANCELLED:
        return None
    return end


def mail_templates(event_type: str, price_cents: int) -> tuple[MailTemplate, ...]:
    """The e-mails an event produces: a paid confirmation also gets its receipt."""
    match event_type:
        case "booking.confirmed":
            if price_cents > 0:
                return (MailTemplate.CONFIRMATION, MailTemplate.RECEIPT)
            return (MailTemplate.CONFIRMATION,)
        case "booking.cancelled":
            return (MailTemplate.CANCELLATION,)
        case "booking.refunded":
            return (MailTemplate.REFUND,)
        case "booking.expiring":
            return (MailTemplate.HOLD_EXPIRING,)
    return ()


def refund_cents(price_cents: int, percent: int) -> int:
    """What a cancellation refunds of the price: floor(price x percent / 100)."""
    return price_cents * max(0, min(100, percent)) // 100


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError("instants must carry a UTC offset")
