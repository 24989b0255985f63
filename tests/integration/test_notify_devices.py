"""Devices and notification preferences through HTTP: register, update, list, remove, validate;
production refuses push endpoints that point inside."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from cowork.notify.vapid import generate_private_key, load_vapid, public_key_b64
from tests.conftest import start_server, stop_server
from tests.conftest import test_settings as settings_for
from tests.e2e.nodes import JWT_SECRET, node_env, start_node
from tests.factories import auth, make_user
from tests.notify_fakes import Browser, notify_settings

VAPID = generate_private_key()
ENDPOINT = "http://127.0.0.1:9/push/abc"


@pytest.fixture
def settings(database_url, infra, tmp_path):
    creds = tmp_path / "fcm.json"  # only its presence turns FCM on for registration
    return settings_for(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            vapid_private_key=VAPID,
            fcm_credentials_file=str(creds),
            apns_key_file=str(tmp_path / "k.p8"),
            apns_key_id="K",
            apns_team_id="T",
        ),
    )


@pytest.fixture
async def member(server):
    user = await make_user()
    return auth(server.settings, user)


def webpush(endpoint: str = ENDPOINT, **extra) -> dict:
    return {"kind": "webpush", "subscription": Browser().subscription(endpoint), **extra}


async def test_register_again_updates_list_and_remove(client, member, server):
    """Fails if re-registering an endpoint makes a second device (double pushes), or if a
    member can remove someone else's device."""
    r = await client.post("/api/v1/me/devices", json=webpush(), headers=member)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["kind"] == "webpush" and first["hint"] == "127.0.0.1"
    again = await client.post("/api/v1/me/devices", json=webpush(locale="it"), headers=member)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert again.json()["locale"] == "it"
    phone = await client.post(
        "/api/v1/me/devices",
        json={"kind": "apns", "token": "a" * 64, "topic": "dev.cowork.app"},
        headers=member,
    )
    assert phone.status_code == 201 and phone.json()["hint"] == "…aaaaaa"
    listed = await client.get("/api/v1/me/devices", headers=member)
    assert [d["id"] for d in listed.json()["items"]] == [first["id"], phone.json()["id"]]

    other = auth(server.settings, await make_user())
    r = await client.delete(f"/api/v1/me/devices/{first['id']}", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "device_not_found"
    r = await client.delete(f"/api/v1/me/devices/{first['id']}", headers=member)
    assert r.status_code == 204
    listed = await client.get("/api/v1/me/devices", headers=member)
    assert [d["id"] for d in listed.json()["items"]] == [phone.json()["id"]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "webpush"}, 422, "validation_failed"),
        ({"kind": "webpush", "token": "x"}, 422, "validation_failed"),
        ({"kind": "fcm"}, 422, "validation_failed"),
        ({"kind": "fcm", "token": "x", "topic": "a.b"}, 422, "validation_failed"),
        ({"kind": "fcm", "token": "bad token with spaces"}, 422, "validation_failed"),
        ({"kind": "sms", "token": "x"}, 422, "validation_failed"),
        (
            {
                "kind": "webpush",
                "subscription": {"endpoint": ENDPOINT, "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
            },
            422,
            "invalid_push_subscription",
        ),
        (webpush("ftp://127.0.0.1/x"), 422, "push_endpoint_refused"),
        (webpush("http://10.0.0.1/x"), 422, "push_endpoint_refused"),
    ],
)
async def test_bad_devices_are_refused(client, member, body, status, code):
    r = await client.post("/api/v1/me/devices", json=body, headers=member)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_devices_need_auth(client):
    assert (await client.get("/api/v1/me/devices")).status_code == 401
    assert (await client.post("/api/v1/me/devices", json=webpush())).status_code == 401
    assert (await client.get("/api/v1/me/notification-preferences")).status_code == 401


async def test_preferences_default_replace_and_validate(client, member):
    r = await client.get("/api/v1/me/notification-preferences", headers=member)
    assert r.status_code == 200
    assert set(r.json()["push"]) >= {"confirmed", "hold_expiring", "reminder"}
    assert r.json()["quiet_hours"] is None
    wanted = {
        "push": ["hold_expiring", "reminder"],
        "email": ["confirmed"],
        "reminder_lead_minutes": 30,
        "quiet_hours": {"start": "22:30", "end": "07:00"},
        "timezone": "Europe/Rome",
        "locale": "it",
        "urgent_during_quiet_hours": False,
    }
    r = await client.put("/api/v1/me/notification-preferences", json=wanted, headers=member)
    assert r.status_code == 200, r.text
    got = (await client.get("/api/v1/me/notification-preferences", headers=member)).json()
    assert got == {**wanted, "quiet_hours": {"start": "22:30:00", "end": "07:00:00"}}

    for bad, code in (
        ({**wanted, "timezone": "Mars/Base"}, "invalid_timezone"),
        (
            {**wanted, "quiet_hours": {"start": "07:00", "end": "07:00"}},
            "invalid_notification_preferences",
        ),
        ({**wanted, "reminder_lead_minutes": 0}, "validation_failed"),  # a declared range
        ({**wanted, "push": ["everything"]}, "validation_failed"),
        ({**wanted, "locale": "fr"}, "validation_failed"),
    ):
        r = await client.put("/api/v1/me/notification-preferences", json=bad, headers=member)
        assert r.status_code == 422 and r.json()["code"] == code, (bad, r.text)
    again = (await client.get("/api/v1/me/notification-preferences", headers=member)).json()
    assert again == got  # a refused update changes nothing


async def test_vapid_public_key_is_public(client):
    r = await client.get("/api/v1/push/vapid-public-key")
    assert r.status_code == 200
    assert r.json() == {"public_key": public_key_b64(load_vapid(VAPID))}


async def test_channels_that_are_not_configured_refuse(database_url, infra):
    bare = settings_for(database_url, infra.nats_url)
    running, srv = await start_server(bare)
    try:
        async with httpx.AsyncClient(base_url=running.url) as http:
            r = await http.get("/api/v1/push/vapid-public-key")
            assert r.status_code == 404 and r.json()["code"] == "webpush_not_configured"
            member = auth(bare, await make_user())
            r = await http.post("/api/v1/me/devices", json=webpush(), headers=member)
            assert r.status_code == 422 and r.json()["code"] == "push_channel_not_configured"
    finally:
        await stop_server(srv)


async def test_production_refuses_loopback_and_private_endpoints(orm, infra, tmp_path):
    """Fails if a production server stores (and later POSTs to) an address inside its own
    network: the SSRF a push endpoint chosen by a client would otherwise be. The node is a
    real `cowork serve` process configured from the environment with COWORK_ENV=production."""
    env = node_env(
        orm.database_url, infra.nats_url, COWORK_ENV="production", VAPID_PRIVATE_KEY=VAPID
    )
    node = start_node(env, "node-prod", tmp_path)
    try:
        member = auth(replace(orm, jwt_secret=JWT_SECRET), await make_user())
        async with httpx.AsyncClient(base_url=node.url) as http:
            for endpoint, reason in (
                ("https://127.0.0.1:8443/push/x", "loopback"),
                ("https://localhost/push/x", "loopback"),
                ("https://[::ffff:127.0.0.1]/push/x", "loopback"),
                ("https://192.168.0.10/push/x", "private"),
                ("https://169.254.169.254/latest", "metadata"),
                ("http://push.example.com/push/x", "scheme"),
            ):
                r = await http.post("/api/v1/me/devices", json=webpush(endpoint), headers=member)
                assert r.status_code == 422, (endpoint, r.text)
                assert r.json()["code"] == "push_endpoint_refused"
                assert r.json()["reason"] == reason, endpoint
            listed = await http.get("/api/v1/me/devices", headers=member)
            assert listed.status_code == 200 and listed.json()["items"] == []
    finally:
        node.stop()
