"""The delivery worker as a node runs it: started by the supervisor from the node's settings,
a booking confirmed over HTTP reaches a push service and an SMTP server written for the test,
and the worker stops with the node."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cowork.notify.vapid import generate_private_key
from tests.conftest import notify_test_settings, start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import (
    Browser,
    PushService,
    SmtpSink,
    notify_settings,
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
            worker=True,  # the node's own, as in production
            vapid_private_key=generate_private_key(),
            **smtp_channel(smtp, SENDER),
        ),
    ) as s:
        yield s


async def test_a_booking_confirmed_over_http_reaches_the_browser_and_the_inbox(
    server, client, push, smtp, db
):
    """Fails if a normally started node does not run the delivery worker (no stage, or one
    that never consumes the personal events), so nothing reaches devices or inboxes."""
    loc = await make_location(name="Brera Hub")
    space = await make_space(loc, name="Desk 7")
    member = await make_user(email="ada@example.com")
    headers = auth(server.settings, member)
    browser = Browser()
    device = {"kind": "webpush", "subscription": browser.subscription(f"{push.url}/push/ada")}
    r = await client.post("/api/v1/me/devices", json=device, headers=headers)
    assert r.status_code == 201, r.text

    r = await client.post(f"/api/v1/spaces/{space.id}/bookings", json=slot(at(48)), headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    booking = r.json()["id"]

    await poll(lambda: _got(push, smtp), lambda got: got == (1, 1))
    payload = browser.decrypt(push.received[0].body)
    assert (payload["type"], payload["booking_id"]) == ("booking.confirmed", booking)
    assert smtp.messages[0]["To"] == "ada@example.com"
    assert smtp.messages[0]["Subject"].startswith("Booking confirmed: Desk 7, ")

    async def states() -> list[tuple[str, str]]:
        rows = await db.fetch("SELECT channel, state FROM notify_deliveries ORDER BY channel")
        return [(r["channel"], r["state"]) for r in rows]

    # The receivers have the messages before the worker records them as sent: poll.
    await poll(states, lambda got: got == [("email", "sent"), ("webpush", "sent")])


async def _got(push: PushService, smtp: SmtpSink) -> tuple[int, int]:
    return len(push.received), len(smtp.messages)


async def test_the_worker_is_a_stage_that_stops_with_the_node(settings):
    """Fails if the worker is not owned by the supervisor (started after the bus, stopped with
    the node): its loops would outlive a stopped node."""
    running, srv = await start_server(settings)
    services = running.app.ctx.services
    try:
        stages = services.supervisor.running
        assert stages.index("bus") < stages.index("notify")
        worker = services.notify
        assert worker is not None
        assert sorted(worker.running) == ["notify-consume", "notify-due"]
        assert worker.channels == {"webpush", "email"}
    finally:
        await stop_server(srv)
    assert worker.running == []
    assert services.supervisor.running == []


@pytest.mark.parametrize("notify", [notify_settings(worker=True), notify_settings(worker=False)])
async def test_no_worker_without_a_channel_or_when_turned_off(settings, notify):
    """Fails if a node without any channel (or told not to deliver) runs a worker anyway:
    it would poll the delivery log or take events it cannot send."""
    if notify.worker:  # no channel configured at all
        chosen = replace(settings, notify=notify)
    else:  # channels configured, the node told not to deliver
        chosen = replace(settings, notify=replace(settings.notify, worker=False))
    running, srv = await start_server(chosen)
    try:
        assert "notify" in running.app.ctx.services.supervisor.running
        assert running.app.ctx.services.notify is None
    finally:
        await stop_server(srv)
