"""Scheduling's news reaches the member's devices: a request approved, a request declined and a
waitlist offer each become a Web Push (localized, signed, encrypted) when the delivery worker
runs, through a push service written for the test."""

from __future__ import annotations

from typing import Any

import pytest

from cowork.notify.vapid import generate_private_key, load_vapid, public_key_b64
from tests.conftest import notify_test_settings
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import Browser, PushService, notify_settings
from tests.notify_fakes import running_worker as worker_running
from tests.polling import poll

VAPID = generate_private_key()
VAPID_PUBLIC = public_key_b64(load_vapid(VAPID))


@pytest.fixture
async def settings(database_url, infra):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(vapid_private_key=VAPID, vapid_subject="mailto:ops@cowork.test"),
    ) as s:
        yield s


async def subscribe(client, headers, push, browser: Browser, name: str, locale: str) -> None:
    body = {
        "kind": "webpush",
        "subscription": browser.subscription(f"{push.url}/push/{name}"),
        "locale": locale,
    }
    r = await client.post("/api/v1/me/devices", json=body, headers=headers)
    assert r.status_code == 201, r.text


async def post(client, url: str, headers, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await client.post(url, json=body or {}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def test_approved_declined_and_offered_reach_the_members_devices(server, client, push):
    """Fails if any of booking.approved, booking.declined or waitlist.offer maps to no
    notification kind (nothing is pushed), lacks its text in a language (a KeyError in the
    worker, or English on the Italian device), or an offer is not sent as urgent."""
    loc = await make_location(timezone="Europe/Rome")
    asked = await make_space(loc, name="Sala Verde", requires_approval=True)
    booth = await make_space(loc, name="Cabina 1", type="phone_booth")
    member, other = await make_user(), await make_user()
    manager = auth(server.settings, await make_user("manager", managed=(loc,)))
    mine = auth(server.settings, member)
    english, italian = Browser(), Browser()
    await subscribe(client, mine, push, english, "en", "en-GB")
    await subscribe(client, mine, push, italian, "it", "it-IT")

    async with worker_running(server.settings):
        first = await post(client, f"/api/v1/spaces/{asked.id}/bookings", mine, slot(at(48)))
        second = await post(client, f"/api/v1/spaces/{asked.id}/bookings", mine, slot(at(52)))
        assert first["status"] == second["status"] == "pending_approval"
        await post(
            client, f"/api/v1/manage/spaces/{asked.id}/bookings/{first['id']}/approve", manager
        )
        await post(
            client,
            f"/api/v1/manage/spaces/{asked.id}/bookings/{second['id']}/decline",
            manager,
            {"note": "Closed for works"},
        )
        theirs = auth(server.settings, other)
        taken = await post(client, f"/api/v1/spaces/{booth.id}/bookings", theirs, slot(at(60)))
        waiting = {"start": taken["start"], "end": taken["end"]}
        await post(client, f"/api/v1/spaces/{booth.id}/waitlist", mine, waiting)
        await post(client, f"/api/v1/spaces/{booth.id}/bookings/{taken['id']}/cancel", theirs)
        await poll(lambda: _received(push), lambda n: n >= 6)

    assert len(push.received) == 6  # one push per event and device, none twice
    got: dict[tuple[str, str], dict[str, Any]] = {}
    for request in push.received:
        name = request.path.rsplit("/", 1)[-1]
        payload = (english if name == "en" else italian).decrypt(request.body)
        got[(name, payload["type"])] = {**payload, "urgency": request.headers["urgency"]}
    assert sorted(got) == [
        (name, kind)
        for name in ("en", "it")
        for kind in ("booking.approved", "booking.declined", "waitlist.offer")
    ]
    assert got[("en", "booking.approved")]["title"] == "Booking request approved"
    assert got[("it", "booking.approved")]["title"] == "Richiesta di prenotazione approvata"
    assert got[("en", "booking.declined")]["title"] == "Booking request declined"
    assert got[("it", "booking.declined")]["title"] == "Richiesta di prenotazione rifiutata"
    assert got[("en", "booking.approved")]["body"].startswith("Sala Verde at ")
    assert got[("it", "waitlist.offer")]["title"] == "Si è liberato uno slot"
    assert got[("en", "waitlist.offer")]["body"].startswith("Cabina 1, ")
    assert {got[(n, "waitlist.offer")]["urgency"] for n in ("en", "it")} == {"high"}
    assert got[("en", "booking.declined")]["urgency"] == "normal"


async def _received(push: PushService) -> int:
    return len(push.received)
