"""Outgoing webhooks end to end: bookings made over the API reach a receiver run by the test,
signed per Standard Webhooks, at least once, retried, replayed, and disabled with the owner
told after a whole window of failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from cowork.integrations.signing import new_secret
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll
from tests.webhook_receiver import Receiver
from tests.webhook_support import HOOKS, book, deliveries, hooks_node, register, settled


@pytest.fixture
async def world(settings):
    async with hooks_node(settings) as node, Receiver() as receiver:
        location = await make_location()
        space = await make_space(location)
        manager = await make_user("manager", managed=(location,))
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
            yield node, http, receiver, location, space, manager


async def test_deliveries_verify_with_the_standard_webhooks_library(world):
    """Fails if a signature, header or body does not verify with the reference library, or
    if a member's private cancel note reaches an operator's endpoint."""
    node, http, receiver, location, space, manager = world
    staff = auth(node.settings, manager)
    hook = await register(http, staff, receiver.url, [location.id])
    assert hook["secret"].startswith("whsec_")
    member = await make_user()
    booking = await book(http, node.settings, member, space)
    r = await http.post(
        f"/api/v1/spaces/{space.id}/bookings/{booking}/cancel",
        json={"reason": "change_of_plans", "note": "my dentist moved"},
        headers=auth(node.settings, member),
    )
    assert r.status_code == 200, r.text
    await poll(lambda: _async(receiver.succeeded()), lambda got: len(got) == 2)

    payloads = [Webhook(hook["secret"]).verify(r.body, r.headers) for r in receiver.received]
    assert [p["type"] for p in payloads] == ["booking.confirmed", "booking.cancelled"]
    for p in payloads:
        assert p["data"]["booking_id"] == booking
        assert p["data"]["user_id"] == member.id
        assert p["data"]["location_id"] == location.id
    assert payloads[1]["data"]["reason"] == "change_of_plans"
    assert "my dentist" not in receiver.received[1].body.decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(receiver.received[0].body, receiver.received[0].headers)


async def test_a_receiver_failing_three_times_gets_each_event_once(world):
    """Fails if a failed delivery is not retried, if a success is sent again, or if a retry
    changes the webhook-id or body the receiver deduplicates on."""
    node, http, receiver, location, space, manager = world
    receiver.fail_first = 3
    staff = auth(node.settings, manager)
    hook = await register(http, staff, receiver.url, [location.id])
    member = await make_user()
    for _ in range(2):
        await book(http, node.settings, member, space)
    log = await settled(http, staff, hook["id"], 2)

    assert [d["status"] for d in log] == ["succeeded", "succeeded"]
    assert [d["attempts"] for d in log] == [4, 4]
    for item in log:
        tries = receiver.of(item["message_id"])
        assert [t.answered for t in tries] == [500, 500, 500, 204]
        assert len({t.body for t in tries}) == 1
        for t in tries:
            Webhook(hook["secret"]).verify(t.body, t.headers)
    assert len(receiver.succeeded()) == 2
    detail = await http.get(f"{HOOKS}/{hook['id']}/deliveries/{log[0]['id']}", headers=staff)
    assert [a["status_code"] for a in detail.json()["attempts_made"]] == [500, 500, 500, 204]
    assert detail.json()["payload"]["type"] == "booking.confirmed"


async def test_replay_resends_with_the_same_webhook_id(world):
    """Fails if a replayed delivery carries a new webhook-id or another body (receivers
    could not tell it from a new event), or if a range replay misses what it covers."""
    node, http, receiver, location, space, manager = world
    staff = auth(node.settings, manager)
    hook = await register(http, staff, receiver.url, [location.id])
    await book(http, node.settings, await make_user(), space)
    (item,) = await settled(http, staff, hook["id"], 1)

    r = await http.post(f"{HOOKS}/{hook['id']}/deliveries/{item['id']}/replay", headers=staff)
    assert r.status_code == 202, r.text
    await poll(lambda: _async(receiver.of(item["message_id"])), lambda got: len(got) == 2)
    first, again = receiver.of(item["message_id"])
    assert again.body == first.body
    assert Webhook(hook["secret"]).verify(again.body, again.headers)["type"] == "booking.confirmed"

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = await http.post(f"{HOOKS}/{hook['id']}/replay", json={"since": since}, headers=staff)
    assert r.json() == {"queued": 0}  # by default only failed ones, and none failed
    body = {"since": since, "only_failed": False}
    r = await http.post(f"{HOOKS}/{hook['id']}/replay", json=body, headers=staff)
    assert r.status_code == 202 and r.json() == {"queued": 1}
    await poll(lambda: _async(receiver.of(item["message_id"])), lambda got: len(got) == 3)
    assert {t.message_id for t in receiver.received} == {item["message_id"]}


async def test_an_endpoint_failing_a_whole_window_is_disabled_and_its_owner_told(settings):
    """Fails if an endpoint that never answers is retried forever, if its owner is not told,
    or if events that came while it was disabled are lost to a replay after it is fixed."""
    async with hooks_node(settings, retry_window_seconds=1.0) as node, Receiver() as receiver:
        receiver.always_fail = True
        location = await make_location()
        space = await make_space(location)
        manager = await make_user("manager", managed=(location,))
        staff = auth(node.settings, manager)
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
            hook = await register(http, staff, receiver.url, [location.id])
            member = await make_user()
            await book(http, node.settings, member, space)
            url = f"{HOOKS}/{hook['id']}"
            disabled = await poll(
                lambda: _json(http.get(url, headers=staff)), lambda h: not h["enabled"]
            )
            assert disabled["disabled_reason"] == "failing"
            tries = len(receiver.received)
            assert tries >= 3
            notes = await http.get("/api/v1/notifications", headers=staff)
            assert [n["type"] for n in notes.json()["items"]] == ["webhook.disabled"]
            assert notes.json()["items"][0]["data"]["webhook_id"] == hook["id"]

            await book(http, node.settings, member, space)  # while disabled: logged, not sent
            skipped = await poll(
                lambda: deliveries(http, staff, hook["id"], status="skipped"), lambda d: len(d)
            )
            assert len(receiver.received) == tries
            r = await http.post(f"{url}/deliveries/{skipped[0]['id']}/replay", headers=staff)
            assert r.status_code == 409 and r.json()["code"] == "webhook_disabled"

            receiver.always_fail = False
            r = await http.patch(url, json={"enabled": True}, headers=staff)
            assert r.status_code == 200 and r.json()["enabled"] is True
            since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            r = await http.post(f"{url}/replay", json={"since": since}, headers=staff)
            assert r.json() == {"queued": 2}
            await poll(lambda: _async(receiver.succeeded()), lambda got: len(got) == 2)
            assert len({r.message_id for r in receiver.succeeded()}) == 2


async def test_a_removed_manager_stops_receiving_their_location(world):
    """Fails if an endpoint keeps getting a location's bookings (who booked, what was paid)
    after its owner lost the right to manage that location."""
    node, http, receiver, location, space, manager = world
    hook = await register(http, auth(node.settings, manager), receiver.url, [location.id])
    admin = auth(node.settings, await make_user("admin"))
    async with Receiver() as witness:
        witness_hook = await register(http, admin, witness.url, [location.id])
        await manager.managed_locations.clear()
        await book(http, node.settings, await make_user(), space)
        await settled(http, admin, witness_hook["id"], 1)  # the event was taken in
    assert receiver.received == []
    assert await deliveries(http, admin, hook["id"]) == []


async def test_bad_input_is_a_422_naming_what_is_wrong(world):
    """Fails if an unknown event type, a URL that is not http(s), an unknown location or an
    empty or backwards range is accepted, or answered with anything but its problem code."""
    node, http, receiver, location, _, manager = world
    staff = auth(node.settings, manager)
    admin = auth(node.settings, await make_user("admin"))
    cases = [
        (staff, {"events": ["booking.confirmed", "booking.exploded"]}, "unknown_webhook_event"),
        (staff, {"url": "ftp://example.com/hook"}, "webhook_url_refused"),
        (staff, {"location_ids": []}, "validation_failed"),
        (staff, {"events": []}, "validation_failed"),
        (admin, {"location_ids": [location.id, 2**31 - 1]}, "unknown_location"),
    ]
    for headers, change, code in cases:
        body = {"url": receiver.url, "events": ["booking.confirmed"], "location_ids": [location.id]}
        r = await http.post(HOOKS, json={**body, **change}, headers=headers)
        assert r.status_code == 422, (change, r.text)
        assert r.json()["code"] == code, change
    bad = await http.post(HOOKS, json={**body, "events": ["nope"]}, headers=staff)
    assert bad.json()["unknown"] == ["nope"]
    hook = await register(http, staff, receiver.url, [location.id])
    now = datetime.now(UTC).isoformat()
    r = await http.post(
        f"{HOOKS}/{hook['id']}/replay", json={"since": now, "until": now}, headers=staff
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_replay_range"


async def _async(value):
    return value


async def _json(response_coro):
    response = await response_coro
    return json.loads(response.text)
