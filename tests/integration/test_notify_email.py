"""E-mail as a channel of the delivery worker: an SMTP server in the test receives the booking
confirmation with a calendar file that parses, the receipt, and a cancellation in Italian."""

from __future__ import annotations

from datetime import datetime

import pytest
from icalendar import Calendar

from tests.conftest import notify_test_settings
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.integration.test_realtime_support import booking_facts, emit
from tests.notify_fakes import (
    SmtpSink,
    notify_settings,
    running_worker,
    smtp_channel,
)
from tests.polling import poll

SENDER = "cowork <no-reply@cowork.test>"


@pytest.fixture
async def settings(database_url, infra, smtp):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            **smtp_channel(smtp, SENDER),
        ),
    ) as s:
        yield s


@pytest.fixture
async def world(server):
    loc = await make_location(name="Brera Hub", address="Via Solferino 12", city="Milan")
    space = await make_space(loc, name="Desk 7")
    member = await make_user(email="ada@example.com")
    return {"space": space, "member": member, "headers": auth(server.settings, member)}


async def mails(smtp: SmtpSink) -> int:
    return len(smtp.messages)


def attachment(msg, content_type: str) -> bytes:
    for part in msg.walk():
        if part.get_content_type() == content_type:
            content = part.get_content()
            return content if isinstance(content, bytes) else content.encode()
    raise AssertionError(f"no {content_type} part")


async def test_confirmation_mail_carries_an_ics_that_parses(server, client, world, smtp):
    """Fails if the mail does not reach SMTP, lacks a text or HTML body, or its calendar
    file does not parse or has the wrong times."""
    start = at(48)
    async with running_worker(server.settings):
        r = await client.post(
            f"/api/v1/spaces/{world['space'].id}/bookings",
            json=slot(start, 2),
            headers=world["headers"],
        )
        assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
        await poll(lambda: mails(smtp), lambda n: n == 1)
    msg = smtp.messages[0]
    assert smtp.envelopes[0] == ("no-reply@cowork.test", ["ada@example.com"])
    assert msg["From"] == SENDER and msg["To"] == "ada@example.com"
    assert msg["Subject"].startswith("Booking confirmed: Desk 7, ")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Via Solferino 12, Milan" in text and "Brera Hub" in html
    cal = Calendar.from_ical(attachment(msg, "text/calendar"))
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == start
    assert (event.decoded("dtend") - event.decoded("dtstart")).total_seconds() == 7200
    assert str(event["status"]) == "CONFIRMED"


async def test_paid_confirmation_sends_a_receipt_and_cancellation_speaks_italian(
    server, client, world, smtp, db
):
    r = await client.put(
        "/api/v1/me/notification-preferences",
        json={
            "push": [],
            "email": ["confirmed", "cancelled"],
            "reminder_lead_minutes": 15,
            "locale": "it",
        },
        headers=world["headers"],
    )
    assert r.status_code == 200, r.text
    facts = booking_facts(world["space"], world["member"].id, 77, status="confirmed")
    async with running_worker(server.settings):
        await emit(server.app, "booking.confirmed", facts)
        await poll(lambda: mails(smtp), lambda n: n == 2)
        await emit(server.app, "booking.cancelled", facts, refund_percent=50)
        await poll(lambda: mails(smtp), lambda n: n == 3)
    subjects = sorted(m["Subject"] for m in smtp.messages[:2])
    assert subjects[0].startswith("Prenotazione confermata: Desk 7")
    assert subjects[1] == "Ricevuta della prenotazione n. 77"
    receipt = next(m for m in smtp.messages if m["Subject"].startswith("Ricevuta"))
    assert "15,00\xa0€" in receipt.get_body(("plain",)).get_content()
    cancel = smtp.messages[2]
    assert cancel["Subject"].startswith("Prenotazione annullata")
    assert "7,50\xa0€ (50%)" in cancel.get_body(("plain",)).get_content()
    assert str(Calendar.from_ical(attachment(cancel, "text/calendar"))["method"]) == "CANCEL"
    rows = await db.fetch("SELECT target, state FROM notify_deliveries ORDER BY id")
    assert [(r["target"], r["state"]) for r in rows] == [
        ("email:confirmation", "sent"),
        ("email:receipt", "sent"),
        ("email:cancellation", "sent"),
    ]


async def test_mail_the_member_switched_off_is_not_sent(server, client, world, smtp, db):
    r = await client.put(
        "/api/v1/me/notification-preferences",
        json={"push": [], "email": [], "reminder_lead_minutes": 15},
        headers=world["headers"],
    )
    assert r.status_code == 200
    facts = booking_facts(world["space"], world["member"].id, 78, status="confirmed")
    async with running_worker(server.settings):
        await emit(server.app, "booking.confirmed", facts)
        rows = await poll(
            lambda: db.fetch("SELECT state, reason, finished_at FROM notify_deliveries"),
            lambda rs: len(rs) == 2,
        )
    assert {(r["state"], r["reason"]) for r in rows} == {("skipped", "disabled")}
    assert all(isinstance(r["finished_at"], datetime) for r in rows)
    assert smtp.messages == []
