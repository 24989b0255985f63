"""Success answers the fuzzer seldom reaches match the document, status and body.

A random request rarely finds a held slot to wait for, a bookable series, an open offer, a
request awaiting approval or an endpoint with deliveries: schemathesis checks the refusals of
these operations but hardly ever their successes. Here each one is driven to success over
HTTP, and every answer (problems included) is held to what the document declares for its
path, method and status.

Fault this catches: a success body with a field its schema does not declare, a missing
required field, a null where the schema says never null, a status the operation does not
declare, and (by the coverage assertion) a flow that silently stopped reaching success.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis

from cowork.notify.vapid import generate_private_key
from tests.factories import auth, make_location, make_space, make_user
from tests.notify_fakes import Browser, notify_settings
from tests.payments_fixtures import *  # noqa: F403 (the localstripe fixture)
from tests.payments_fixtures import with_stripe
from tests.polling import poll
from tests.webhook_receiver import Receiver
from tests.webhook_support import hooks_node

WANTED = {
    ("POST", "/api/v1/spaces/{space_id}/waitlist", 201),
    ("GET", "/api/v1/me/waitlist", 200),
    ("POST", "/api/v1/spaces/{space_id}/waitlist/{entry_id}/accept", 200),
    ("DELETE", "/api/v1/spaces/{space_id}/waitlist/{entry_id}", 204),
    ("POST", "/api/v1/spaces/{space_id}/series", 201),
    ("GET", "/api/v1/series/{series_id}", 200),
    ("GET", "/api/v1/me/series", 200),
    ("POST", "/api/v1/series/{series_id}/payment", 201),
    ("POST", "/api/v1/series/{series_id}/payment", 200),
    ("POST", "/api/v1/spaces/{space_id}/series/{series_id}/cancel", 200),
    ("GET", "/api/v1/manage/locations/{location_id}/approvals", 200),
    ("POST", "/api/v1/manage/spaces/{space_id}/bookings/{booking_id}/approve", 200),
    ("POST", "/api/v1/manage/spaces/{space_id}/bookings/{booking_id}/decline", 200),
    ("GET", "/api/v1/me/calendar-feed", 200),
    ("POST", "/api/v1/me/calendar-feed/rotate", 200),
    ("DELETE", "/api/v1/me/calendar-feed", 204),
    ("GET", "/api/v1/manage/spaces/{space_id}/calendar-feed", 200),
    ("POST", "/api/v1/manage/spaces/{space_id}/calendar-feed/rotate", 200),
    ("DELETE", "/api/v1/manage/spaces/{space_id}/calendar-feed", 204),
    ("POST", "/api/v1/me/devices", 201),
    ("POST", "/api/v1/me/devices", 200),
    ("GET", "/api/v1/me/devices", 200),
    ("DELETE", "/api/v1/me/devices/{device_id}", 204),
    ("GET", "/api/v1/me/notification-preferences", 200),
    ("PUT", "/api/v1/me/notification-preferences", 200),
    ("GET", "/api/v1/push/vapid-public-key", 200),
    ("POST", "/api/v1/manage/webhooks", 201),
    ("GET", "/api/v1/manage/webhooks", 200),
    ("GET", "/api/v1/manage/webhooks/{endpoint_id}", 200),
    ("PATCH", "/api/v1/manage/webhooks/{endpoint_id}", 200),
    ("GET", "/api/v1/manage/webhooks/{endpoint_id}/deliveries", 200),
    ("GET", "/api/v1/manage/webhooks/{endpoint_id}/deliveries/{delivery_id}", 200),
    ("POST", "/api/v1/manage/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay", 202),
    ("POST", "/api/v1/manage/webhooks/{endpoint_id}/replay", 202),
    ("DELETE", "/api/v1/manage/webhooks/{endpoint_id}", 204),
}


class Contract:
    """An httpx response hook: each answer must be declared, and match its schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]
        self.seen: set[tuple[str, str, int]] = set()

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        method, path = response.request.method, response.request.url.path
        template = next(t for rx, t in self.templates if rx.match(path))
        declared = self.document["paths"][template][method.lower()]["responses"]
        assert str(response.status_code) in declared, (method, path, response.text)
        self.schema[template][method].validate_response(response)  # raises on a mismatch
        self.seen.add((method, template, response.status_code))


@pytest.fixture
def settings(settings, localstripe):
    notify = notify_settings(vapid_private_key=generate_private_key())
    return replace(with_stripe(settings, localstripe), notify=notify)


@pytest.fixture
async def world(settings):
    async with hooks_node(settings) as node, Receiver() as receiver:
        location = await make_location()
        async with httpx.AsyncClient(base_url=node.url) as plain:
            contract = Contract((await plain.get("/docs/openapi.json")).json())
        hooks = {"response": [contract]}
        async with httpx.AsyncClient(base_url=node.url, timeout=10, event_hooks=hooks) as http:
            yield node, http, contract, receiver, location


def _tomorrow(hour: int) -> datetime:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start.replace(hour=hour)


def _slot(start: datetime, hours: int = 1) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def _waitlist(http, node, location) -> None:
    space = await make_space(location)
    holder, waiting, leaving = [auth(node.settings, await make_user()) for _ in range(3)]
    slot = _slot(_tomorrow(9))
    base = f"/api/v1/spaces/{space.id}"
    held = _ok(await http.post(f"{base}/bookings", json=slot, headers=holder), 201)
    entry = _ok(await http.post(f"{base}/waitlist", json=slot, headers=waiting), 201)
    gone = _ok(await http.post(f"{base}/waitlist", json=slot, headers=leaving), 201)
    _ok(await http.delete(f"{base}/waitlist/{gone['id']}", headers=leaving), 204)
    _ok(await http.post(f"{base}/bookings/{held['id']}/cancel", headers=holder))
    offered = _ok(await http.get("/api/v1/me/waitlist", headers=waiting))["items"][0]
    assert offered["status"] == "offered" and offered["offer_expires_at"] is not None
    taken = _ok(await http.post(f"{base}/waitlist/{entry['id']}/accept", headers=waiting))
    assert taken["status"] == "confirmed"


async def _series(http, node, location) -> None:
    space = await make_space(location, hourly_price_cents=1000)  # held until paid
    member = auth(node.settings, await make_user())
    first = _tomorrow(12).astimezone(ZoneInfo("Europe/Rome")).date()
    body = {
        "rrule": "FREQ=DAILY;COUNT=3",
        "first_date": first.isoformat(),
        "start_time": "10:00",
        "duration_minutes": 60,
        "mode": "book_available",
    }
    made = _ok(await http.post(f"/api/v1/spaces/{space.id}/series", json=body, headers=member), 201)
    _ok(await http.get(f"/api/v1/series/{made['id']}", headers=member))
    assert _ok(await http.get("/api/v1/me/series", headers=member))["items"]
    pay = f"/api/v1/series/{made['id']}/payment"
    intent = _ok(await http.post(pay, headers=member), 201)["payment_intent_id"]
    assert _ok(await http.post(pay, headers=member))["payment_intent_id"] == intent
    cancel = {"scope": "all", "reason": "change_of_plans"}
    path = f"/api/v1/spaces/{space.id}/series/{made['id']}/cancel"
    assert len(_ok(await http.post(path, json=cancel, headers=member))["cancelled"]) == 3


async def _approvals(http, node, location, manager) -> None:
    space = await make_space(location, requires_approval=True)
    member = auth(node.settings, await make_user())
    asked = [
        _ok(
            await http.post(
                f"/api/v1/spaces/{space.id}/bookings", json=_slot(_tomorrow(h)), headers=member
            ),
            201,
        )
        for h in (9, 11, 13)
    ]
    assert {b["status"] for b in asked} == {"pending_approval"}
    path = f"/api/v1/manage/locations/{location.id}/approvals"
    assert len(_ok(await http.get(path, headers=manager))["items"]) == 3
    decide = f"/api/v1/manage/spaces/{space.id}/bookings"
    _ok(await http.post(f"{decide}/{asked[0]['id']}/approve", headers=manager))
    _ok(await http.post(f"{decide}/{asked[1]['id']}/decline", json={"note": "No"}, headers=manager))
    _ok(await http.post(f"{decide}/{asked[2]['id']}/decline", headers=manager))


async def _feeds(http, node, location, manager) -> None:
    member = auth(node.settings, await make_user())
    space = await make_space(location)
    for base, who in (
        ("/api/v1/me/calendar-feed", member),
        (f"/api/v1/manage/spaces/{space.id}/calendar-feed", manager),
    ):
        shown = _ok(await http.get(base, headers=who))
        assert _ok(await http.post(f"{base}/rotate", headers=who))["url"] != shown["url"]
        _ok(await http.delete(base, headers=who), 204)


async def _devices(http, node) -> None:
    member = auth(node.settings, await make_user())
    device = {"kind": "webpush", "subscription": Browser().subscription("http://127.0.0.1:9/p")}
    made = _ok(await http.post("/api/v1/me/devices", json=device, headers=member), 201)
    _ok(await http.post("/api/v1/me/devices", json={**device, "locale": "it"}, headers=member))
    assert _ok(await http.get("/api/v1/me/devices", headers=member))["items"]
    _ok(await http.delete(f"/api/v1/me/devices/{made['id']}", headers=member), 204)
    prefs = _ok(await http.get("/api/v1/me/notification-preferences", headers=member))
    quiet = {**prefs, "quiet_hours": {"start": "22:00", "end": "07:00"}}
    _ok(await http.put("/api/v1/me/notification-preferences", json=quiet, headers=member))
    _ok(await http.get("/api/v1/push/vapid-public-key"))


async def _webhooks(http, node, receiver, location, manager) -> None:
    space = await make_space(location)
    hooks = "/api/v1/manage/webhooks"
    body = {"url": receiver.url, "events": ["booking.confirmed"], "location_ids": [location.id]}
    hook = _ok(await http.post(hooks, json=body, headers=manager), 201)
    one = f"{hooks}/{hook['id']}"
    _ok(await http.get(one, headers=manager))
    _ok(await http.patch(one, json={"description": "door lock"}, headers=manager))
    assert _ok(await http.get(hooks, headers=manager))["items"]
    member = auth(node.settings, await make_user())
    booked = await http.post(
        f"/api/v1/spaces/{space.id}/bookings", json=_slot(_tomorrow(15)), headers=member
    )
    _ok(booked, 201)
    log = await poll(
        lambda: http.get(f"{one}/deliveries", headers=manager),
        lambda r: any(d["status"] == "succeeded" for d in r.json()["items"]),
    )
    delivery = log.json()["items"][0]["id"]
    _ok(await http.get(f"{one}/deliveries/{delivery}", headers=manager))
    _ok(await http.post(f"{one}/deliveries/{delivery}/replay", headers=manager), 202)
    since = {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "only_failed": False}
    _ok(await http.post(f"{one}/replay", json=since, headers=manager), 202)
    _ok(await http.delete(one, headers=manager), 204)


async def test_success_answers_match_the_document(world):
    node, http, contract, receiver, location = world
    manager = auth(node.settings, await make_user("manager", managed=(location,)))
    await _waitlist(http, node, location)
    await _series(http, node, location)
    await _approvals(http, node, location, manager)
    await _feeds(http, node, location, manager)
    await _devices(http, node)
    await _webhooks(http, node, receiver, location, manager)
    assert WANTED - contract.seen == set()
