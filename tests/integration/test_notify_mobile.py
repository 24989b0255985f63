"""FCM HTTP v1 (with the service-account OAuth exchange) and APNs (HTTP/2, provider token)
against fake servers speaking their protocols; dead tokens are forgotten."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from cowork.notify.vapid import generate_private_key
from tests.conftest import notify_test_settings
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import (
    UNREGISTERED,
    Browser,
    FakeApns,
    FakeFcm,
    notify_settings,
    running_worker,
)
from tests.polling import poll

FCM_TOKEN = "dGVzdC1mY20tdG9rZW4:APA91bH-test_token.1"
APNS_TOKEN = "ab" * 32


@pytest.fixture
async def fcm():
    fake = FakeFcm()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def apns():
    fake = FakeApns()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def settings(database_url, infra, tmp_path, fcm, apns):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            fcm_credentials_file=str(fcm.credentials(tmp_path)),
            fcm_api_base=fcm.url,
            apns_key_file=str(apns.key_file(tmp_path)),
            apns_key_id=FakeApns.KEY_ID,
            apns_team_id=FakeApns.TEAM,
            apns_topic="dev.cowork.default",
            apns_host=apns.url,
            vapid_private_key=generate_private_key(),
        ),
    ) as s:
        yield s


@pytest.fixture
async def world(server, client):
    loc = await make_location()
    space = await make_space(loc, name="Focus room")
    headers = auth(server.settings, await make_user())
    phones = {}
    for body in (
        {"kind": "fcm", "token": FCM_TOKEN, "locale": "it"},
        {"kind": "apns", "token": APNS_TOKEN, "topic": "dev.cowork.app"},
    ):
        r = await client.post("/api/v1/me/devices", json=body, headers=headers)
        assert r.status_code == 201, r.text
        phones[body["kind"]] = r.json()["id"]
    return {"space": space, "headers": headers, "phones": phones}


async def book(client, world, hours: float) -> int:
    url = f"/api/v1/spaces/{world['space'].id}/bookings"
    r = await client.post(url, json=slot(at(hours)), headers=world["headers"])
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    return r.json()["id"]


async def count(fake) -> int:
    return len(fake.received)


async def test_fcm_and_apns_receive_the_confirmation(server, client, world, fcm, apns):
    """Fails if FCM gets no valid OAuth token (or one per message), or APNs gets HTTP/1, an
    unsigned provider token, the wrong topic or a malformed payload."""
    async with running_worker(server.settings):
        first = await book(client, world, 48)
        await poll(lambda: count(fcm), lambda n: n == 1)
        await poll(lambda: count(apns), lambda n: n == 1)
        await book(client, world, 52)
        await poll(lambda: count(fcm), lambda n: n == 2)
        await poll(lambda: count(apns), lambda n: n == 2)

    assert len(fcm.exchanges) == 1  # the access token is reused until it nears expiry
    exchange = fcm.exchanges[0]
    assert exchange["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert exchange["exp"] - exchange["iat"] == 3600
    message = json.loads(fcm.received[0].body)["message"]
    assert message["token"] == FCM_TOKEN
    assert message["notification"]["title"] == "Prenotazione confermata"
    assert message["data"]["booking_id"] == str(first)  # FCM data values are strings
    assert message["android"]["collapse_key"] == f"booking-{first}"
    assert fcm.received[0].headers["authorization"] == f"Bearer {fcm.tokens[0]}"

    got = apns.received[0]
    assert apns.versions[0] == "2"
    assert got.path == f"/3/device/{APNS_TOKEN}"
    assert got.headers["apns-topic"] == "dev.cowork.app"
    assert got.headers["apns-push-type"] == "alert"
    assert got.headers["apns-priority"] == "5"
    assert got.headers["apns-collapse-id"] == f"booking-{first}"
    payload = json.loads(got.body)
    assert payload["aps"]["alert"]["title"] == "Booking confirmed"
    assert payload["cowork"]["booking_id"] == first


async def test_unregistered_tokens_are_forgotten(server, client, world, fcm, apns, db):
    """Fails if FCM's UNREGISTERED or APNs's 410 leaves the token registered."""
    fcm.answer_next(404, {"Content-Type": "application/json"}, UNREGISTERED)
    apns.answers.append((410, "Unregistered"))
    async with running_worker(server.settings) as worker:
        await book(client, world, 48)

        async def devices() -> list[str]:
            r = await client.get("/api/v1/me/devices", headers=world["headers"])
            return [d["kind"] for d in r.json()["items"]]

        await poll(devices, lambda kinds: kinds == [])
        removed = worker.metrics.devices_removed
        assert removed.labels("fcm")._value.get() == 1
        assert removed.labels("apns")._value.get() == 1
    states = await db.fetch("SELECT channel, state, last_status FROM notify_deliveries ORDER BY id")
    assert sorted((r["channel"], r["state"], r["last_status"]) for r in states) == [
        ("apns", "gone", 410),
        ("fcm", "gone", 404),
    ]


async def test_apns_renews_a_provider_token_apple_calls_expired(server, client, world, apns):
    apns.answers.append((403, "ExpiredProviderToken"))
    async with running_worker(server.settings):
        await book(client, world, 48)
        await poll(lambda: count(apns), lambda n: n == 2)
    assert apns.received[1].path == f"/3/device/{APNS_TOKEN}"


async def test_a_hanging_push_service_does_not_hold_up_other_providers(
    server, client, world, fcm, apns, push
):
    """Fails if deliveries share one queue or one slot pool: with Web Push hanging (and a send
    timeout far beyond the wait below), FCM and APNs must still get the next event."""
    release = asyncio.Event()

    async def hang() -> None:
        await release.wait()

    push.on_request = hang
    browser_user = auth(server.settings, await make_user())
    body = {"kind": "webpush", "subscription": Browser().subscription(f"{push.url}/push/w")}
    assert (await client.post("/api/v1/me/devices", json=body, headers=browser_user)).is_success
    n = server.settings.notify
    one_slot = replace(server.settings, notify=replace(n, concurrency=1, send_timeout_seconds=60))
    async with running_worker(one_slot):
        r = await client.post(
            f"/api/v1/spaces/{world['space'].id}/bookings",
            json=slot(at(30)),
            headers=browser_user,
        )
        assert r.status_code == 201
        await poll(lambda: count(push), lambda k: k == 1)  # in flight, not answered
        await book(client, world, 48)
        await poll(lambda: count(fcm), lambda k: k == 1)
        await poll(lambda: count(apns), lambda k: k == 1)
        assert not release.is_set() and len(push.received) == 1
        release.set()
