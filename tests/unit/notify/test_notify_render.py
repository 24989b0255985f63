"""Words of pushes and e-mails in both languages, and the calendar file a confirmation carries."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from cowork.domain.notifications import KIND_OF_EVENT, MailTemplate
from cowork.notify.mails import booking_mail, compose, password_reset_mail
from cowork.notify.render import BookingEvent, render_push
from cowork.notify.texts import EN, IT
from cowork.store.notify import Place

PLACE = Place("Desk 7", "Brera Hub", "Via Solferino 12", "Milan", "Europe/Rome")
START = datetime(2031, 1, 7, 8, 0, tzinfo=UTC)  # 09:00 in Milan
NOW = datetime(2031, 1, 6, 12, 0, tzinfo=UTC)


def envelope(event_type: str, **data: Any) -> dict[str, Any]:
    return {
        "id": 42,
        "type": event_type,
        "v": 1,
        "at": NOW.isoformat(),
        "location_id": 3,
        "space_id": 12,
        "data": {
            "booking_id": 901,
            "space_id": 12,
            "location_id": 3,
            "start": START.isoformat(),
            "end": (START + timedelta(hours=2)).isoformat(),
            "status": "confirmed",
            "price_cents": 2450,
            "currency": "EUR",
            "expires_at": None,
            **data,
        },
    }


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_catalogues_say_the_same_things() -> None:
    assert EN.keys() == IT.keys()
    for key in EN:
        assert fields_of(EN[key]) == fields_of(IT[key]), key


@pytest.mark.parametrize("event_type", sorted(KIND_OF_EVENT))
@pytest.mark.parametrize("locale", ["en", "it"])
def test_every_pushed_event_has_words(event_type: str, locale: str) -> None:
    event = BookingEvent.parse(envelope(event_type, lead_minutes=15, until=START.isoformat()))
    push = render_push(
        event, PLACE, locale, public_url="https://c.example", now=NOW, stale_at=None, default_ttl=60
    )
    assert push.title and push.body and "{" not in push.title + push.body


def test_confirmed_push_in_italian_uses_local_time() -> None:
    event = BookingEvent.parse(envelope("booking.confirmed"))
    push = render_push(
        event,
        PLACE,
        "it",
        public_url="https://c.example",
        now=NOW,
        stale_at=START,
        default_ttl=86400,
    )
    assert push.title == "Prenotazione confermata"
    assert push.body.startswith("Desk 7 presso Brera Hub, mar 7 gen, 09:00")  # UTC+1 in Milan
    assert push.data["booking_id"] == 901 and push.data["event_id"] == 42
    assert push.data["url"] == "https://c.example/#booking=901"
    assert push.topic == "booking-901" and not push.urgent
    assert push.ttl == 20 * 3600  # until the booking starts, not a full day


def test_hold_expiring_is_urgent_and_names_the_deadline() -> None:
    expires = START - timedelta(hours=10)  # 23:00 in Milan
    event = BookingEvent.parse(envelope("booking.expiring", expires_at=expires.isoformat()))
    push = render_push(
        event, PLACE, "en", public_url="https://c", now=NOW, stale_at=expires, default_ttl=86400
    )
    assert push.urgent
    assert "pay by 23:00" in push.body


def test_cancelled_push_tells_the_refund() -> None:
    event = BookingEvent.parse(envelope("booking.cancelled", refund_percent=50))
    push = render_push(
        event, PLACE, "en", public_url="https://c", now=NOW, stale_at=None, default_ttl=60
    )
    assert push.body.endswith("Refund: €12.25.")


def mail(template: MailTemplate, event_type: str, locale: str = "en", **data: Any) -> EmailMessage:
    event = BookingEvent.parse(envelope(event_type, **data))
    composed = booking_mail(
        template, event, PLACE, name="Ada", locale=locale, public_url="https://c.example", now=NOW
    )
    raw = compose(composed, to="ada@example.com", sender="cowork <no-reply@c.example>", now=NOW)
    # What a mail client gets: the bytes, parsed back.
    parsed = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> dict[str, str | bytes]:
    found: dict[str, str | bytes] = {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        found[part.get_content_type()] = part.get_content()
    return found


def test_confirmation_mail_has_text_html_and_a_calendar_that_parses() -> None:
    msg = mail(MailTemplate.CONFIRMATION, "booking.confirmed")
    assert msg["Subject"] == "Booking confirmed: Desk 7, Tue, Jan 7, 09:00\u2009\u2013\u200911:00"
    body = parts(msg)
    assert "Hi Ada," in str(body["text/plain"])
    assert "Via Solferino 12, Milan" in str(body["text/plain"])
    assert "<p>Hi Ada,</p>" in str(body["text/html"])
    ics = body["text/calendar"]
    cal = Calendar.from_ical(ics if isinstance(ics, bytes) else ics.encode())
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(hours=2)
    assert str(event["uid"]) == "booking-901@c.example"
    assert str(cal["method"]) == "PUBLISH"


def test_cancellation_in_italian_with_refund_and_a_cancelling_invite() -> None:
    msg = mail(MailTemplate.CANCELLATION, "booking.cancelled", "it", refund_percent=50)
    body = parts(msg)
    assert msg["Subject"].startswith("Prenotazione annullata: Desk 7")
    assert "Un rimborso di 12,25\xa0€ (50%)" in str(body["text/plain"])
    cal = Calendar.from_ical(body["text/calendar"])  # type: ignore[arg-type]
    assert str(cal["method"]) == "CANCEL"
    assert str(cal.walk("VEVENT")[0]["status"]) == "CANCELLED"


def test_receipt_states_the_amount_paid() -> None:
    msg = mail(MailTemplate.RECEIPT, "booking.confirmed")
    assert msg["Subject"] == "Receipt for booking #901"
    assert "Amount paid" in str(parts(msg)["text/plain"])
    assert "€24.50" in str(parts(msg)["text/plain"])


def test_html_escapes_what_members_and_managers_typed() -> None:
    hostile = Place("<script>x</script>", "A&B", "Via <b>", "Milan", "Europe/Rome")
    event = BookingEvent.parse(envelope("booking.confirmed"))
    composed = booking_mail(
        MailTemplate.CONFIRMATION,
        event,
        hostile,
        name="<i>Eve</i>",
        locale="en",
        public_url="https://c",
        now=NOW,
    )
    html = str(parts(compose(composed, to="e@x.org", sender="n@c.org", now=NOW))["text/html"])
    assert "<script>" not in html and "&lt;script&gt;" in html and "<i>Eve" not in html


def test_password_reset_mail() -> None:
    composed = password_reset_mail(
        name="Ada", link="https://c.example/reset#t=abc", ttl_minutes=30, locale="it"
    )
    msg = compose(composed, to="ada@example.com", sender="no-reply@c.example", now=NOW)
    assert msg["Subject"] == "Reimposta la password di cowork"
    text = str(parts(msg)["text/plain"])
    assert "https://c.example/reset#t=abc" in text and "30 minuti" in text
