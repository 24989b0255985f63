"""SSE and websocket streams against a real server: fan-out, privacy, stream auth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cowork.accounts.tokens import TokenKind, utcnow
from cowork.domain.public_events import PERSONAL_ONLY
from cowork.store.events import NOTIFICATION_TITLES
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    WsClient,
    booking_facts,
    emit,
    stream_token,
)


@pytest.fixture
async def place(server):
    loc = await make_location()
    space = await make_space(loc)
    other_space = await make_space(loc)
    member = await make_user()
    return loc, space, other_space, member


async def test_event_reaches_location_space_ws_and_own_stream(server, place):
    loc, space, _, member = place
    token = stream_token(server.settings, member.id)
    async with (
        SseClient(server.url, f"/api/v1/streams/locations/{loc.id}") as by_location,
        SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as by_space,
        SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as mine,
        WsClient(server.url) as ws,
    ):
        await ws.send(type="subscribe", channel=f"space:{space.id}", ref=1)
        assert (await ws.expect("subscribed"))["ref"] == 1
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))

        public = [await by_location.next(), await by_space.next()]
        event = await ws.expect("event")
        personal = await mine.next()

    for got in public:
        assert got.event == "booking.held"
        assert got.data["id"] == got.id
        assert got.data["type"] == "booking.held"
        assert got.data["v"] == 1
        assert got.data["location_id"] == loc.id
        assert got.data["space_id"] == space.id
        assert got.data["data"]["booking_id"] == 1
        assert got.data["at"]
    assert public[0].id == public[1].id
    assert event["channel"] == f"space:{space.id}"
    assert event["event"] == public[1].data
    assert personal.event == "booking.held"
    assert personal.data["data"]["price_cents"] == 1500
    assert personal.id != public[0].id


async def test_space_stream_gets_only_its_space(server, place):
    _, space, other_space, member = place
    async with SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as sse:
        await emit(server.app, "booking.held", booking_facts(other_space, member.id, 1))
        await emit(server.app, "booking.held", booking_facts(space, member.id, 2))
        got = await sse.next()
    assert got.data["space_id"] == space.id
    assert got.data["data"]["booking_id"] == 2


async def test_public_events_carry_no_personal_data(server, place):
    _, space, _, _ = place
    member = await make_user(email="secret.person@example.com")
    user = await type(member).get(id=member.id)
    emitted = sorted(NOTIFICATION_TITLES)
    types = [t for t in emitted if t not in PERSONAL_ONLY]  # those have no public row at all
    async with (
        SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as sse,
        WsClient(server.url) as ws,
    ):
        await ws.send(type="subscribe", channel=f"space:{space.id}")
        await ws.expect("subscribed")
        for i, event_type in enumerate(emitted):
            facts = booking_facts(space, member.id, 100 + i)
            await emit(
                server.app,
                event_type,
                facts,
                reason="x",
                email=user.email,
                name=user.name,
                user_id=user.id,
            )
        got = [e.data for e in await sse.take(len(types))]
        got_ws = await ws.events(len(types))
    assert [e["type"] for e in got] == types
    assert got_ws == got
    for envelope in got:
        text = str(envelope)
        assert "user_id" not in text
        assert user.email not in text
        assert user.name not in text
        assert "price_cents" not in text
        assert set(envelope["data"]) <= {
            "booking_id",
            "space_id",
            "start",
            "end",
            "status",
            "previous_start",
            "previous_end",
        }


async def test_me_stream_refuses_bad_tokens(server, client, place):
    *_, member = place
    s = server.settings
    bad = {
        "missing": None,
        "expired": stream_token(s, member.id, now=utcnow() - timedelta(hours=1), ttl=60),
        "foreign secret": stream_token(s, member.id, secret="another-secret-" + "y" * 32),
        "access token": stream_token(s, member.id, kind=TokenKind.ACCESS),
        "garbage": "not-a-token",
    }
    codes = {}
    for name, token in bad.items():
        params = {"token": token} if token else {}
        r = await client.get("/api/v1/streams/me", params=params)
        assert r.status_code == 401, name
        assert r.headers["content-type"].startswith("application/problem+json"), name
        codes[name] = r.json()["code"]
    assert codes == {
        "missing": "unauthorized",
        "expired": "token_expired",
        "foreign secret": "token_invalid",
        "access token": "token_wrong_kind",
        "garbage": "token_invalid",
    }


async def test_stream_token_endpoint(server, client, place):
    *_, member = place
    r = await client.post("/api/v1/streams/token")
    assert r.status_code == 401
    r = await client.post("/api/v1/streams/token", headers=auth(server.settings, member))
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == server.settings.stream_token_ttl_seconds
    async with SseClient(server.url, "/api/v1/streams/me", params={"token": body["token"]}) as me:
        assert me.response.status_code == 200
        other = await make_user()
        space = place[1]
        await emit(server.app, "booking.held", booking_facts(space, other.id, 1))
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 2))
        got = await me.next()
    # Someone else's booking never reaches my stream.
    assert got.event == "booking.confirmed"
    assert got.data["data"]["booking_id"] == 2


async def test_unknown_location_or_space_is_404(client):
    r = await client.get("/api/v1/streams/locations/999999")
    assert r.status_code == 404
    r = await client.get("/api/v1/streams/spaces/999999")
    assert r.status_code == 404


async def test_ws_protocol_errors_and_ping(server, place):
    loc, *_ = place
    async with WsClient(server.url) as ws:
        await ws.send(type="ping", ref="a")
        assert await ws.recv() == {"type": "pong", "ref": "a"}
        await ws.ws.send("{nope")
        assert (await ws.recv())["code"] == "malformed_json"
        await ws.send(type="subscribe", channel="me")
        assert (await ws.recv())["code"] == "unauthorized"
        await ws.send(type="subscribe", channel="planet:3")
        assert (await ws.recv())["code"] == "invalid_channel"
        await ws.send(type="check_in", booking_id=1)
        assert (await ws.recv())["code"] == "forbidden"
        await ws.send(type="auth", token="bogus")
        assert (await ws.recv())["code"] == "unauthorized"
        await ws.send(type="subscribe", channel=f"location:{loc.id}")
        await ws.expect("subscribed")
        await ws.send(type="subscribe", channel=f"location:{loc.id}")
        assert (await ws.recv())["code"] == "already_subscribed"
        await ws.send(type="unsubscribe", channel=f"location:{loc.id}")
        assert (await ws.expect("unsubscribed"))["channel"] == f"location:{loc.id}"
        await ws.send(type="dance")
        assert (await ws.recv())["code"] == "unknown_type"


async def test_ws_me_channel_with_stream_token(server, place):
    _, space, _, member = place
    async with WsClient(server.url) as ws:
        await ws.send(type="auth", token=stream_token(server.settings, member.id))
        assert (await ws.expect("auth_ok"))["as"] == "member"
        await ws.send(type="subscribe", channel="me")
        await ws.expect("subscribed")
        await emit(server.app, "booking.cancelled", booking_facts(space, member.id, 7))
        (event,) = await ws.events(1)
    assert event["type"] == "booking.cancelled"
    assert event["data"]["booking_id"] == 7
