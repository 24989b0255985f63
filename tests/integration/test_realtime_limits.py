"""Limits with a fast heartbeat and small client queues: heartbeats, slow clients, revocation."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cowork.realtime.channels import Channel, ChannelKind
from tests.conftest import test_settings as settings_for
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    WsClient,
    booking_facts,
    emit,
)

QUEUE = 8


@pytest.fixture
def settings(database_url, infra):
    return settings_for(
        database_url,
        infra.nats_url,
        heartbeat_seconds=0.1,
        client_queue_size=QUEUE,
        client_buffer_bytes=16 * 1024,  # public events are small: cut a stalled client sooner
    )


@pytest.fixture
async def place(server):
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    return loc, space, member


async def test_sse_headers_and_heartbeat(server, place):
    _, space, _ = place
    async with SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as sse:
        assert sse.response.status_code == 200
        assert sse.response.headers["content-type"].startswith("text/event-stream")
        assert sse.response.headers["cache-control"] == "no-cache"
        assert sse.response.headers["x-accel-buffering"] == "no"
        await sse.wait_comment()  # the connect comment
        await sse.wait_comment()  # a heartbeat
        await sse.wait_comment()  # and another


async def _stalled_sse_client(port: int, path: str) -> socket.socket:
    """A client that reads the stream's first bytes, then never again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    seen = b""
    async with asyncio.timeout(15):
        while b": connected" not in seen:  # sent once the server has subscribed it
            seen += await loop.sock_recv(sock, 4096)
    return sock


async def test_slow_subscriber_is_cut_off_and_others_get_everything(server, place):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    channel = Channel(ChannelKind.LOCATION, loc.id)
    hub = server.app.ctx.services.hub
    async with SseClient(server.url, path) as reader:
        stalled = await _stalled_sse_client(server.settings.port, path)
        try:
            assert hub.count(channel) == 2
            sent: list[int] = []
            got: list[int] = []
            # Big events fill the stalled client's socket, then its queue; keep going until
            # the hub cuts it off, checking the reader gets every single event meanwhile.
            while hub.count(channel) == 2:
                assert len(sent) < 2000, "the stalled client was never disconnected"
                booking_id = len(sent) + 1
                await emit(
                    server.app,
                    "booking.held",
                    booking_facts(space, member.id, booking_id),
                    reason="x" * 20_000,
                )
                sent.append(booking_id)
                got.append((await reader.next()).data["data"]["booking_id"])
            for booking_id in range(len(sent) + 1, len(sent) + 4):
                await emit(server.app, "booking.held", booking_facts(space, member.id, booking_id))
                sent.append(booking_id)
            got += [e.data["data"]["booking_id"] for e in await reader.take(3)]
            assert got == sent
            assert hub.count(channel) == 1
            assert await _closed_by_server(stalled)
        finally:
            stalled.close()


async def _closed_by_server(sock: socket.socket) -> bool:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(15):
        while True:
            try:
                if not await loop.sock_recv(sock, 1 << 16):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True


async def test_revoked_kiosk_token_stops_at_once(server, client, place):
    loc, _, _ = place
    admin = await make_user("admin")
    r = await client.post(
        "/api/v1/admin/kiosks",
        json={"location_id": loc.id, "name": "Lobby"},
        headers=auth(server.settings, admin),
    )
    assert r.status_code == 201, r.text
    kiosk = r.json()
    kiosk_auth = {"Authorization": f"Kiosk {kiosk['token']}"}
    assert (await client.get("/api/v1/kiosk/now", headers=kiosk_auth)).status_code == 200

    async with WsClient(server.url) as ws:
        await ws.send(type="auth", token=kiosk["token"])
        assert (await ws.expect("auth_ok"))["as"] == "kiosk"
        await ws.send(type="subscribe", channel=f"location:{loc.id}")
        await ws.expect("subscribed")

        r = await client.delete(
            f"/api/v1/admin/kiosks/{kiosk['id']}", headers=auth(server.settings, admin)
        )
        assert r.status_code == 204
        r = await client.get("/api/v1/kiosk/now", headers=kiosk_auth)
        assert r.status_code == 401
        assert r.json()["code"] == "unauthorized"
        # The open socket is told and closed within a heartbeat.
        assert (await ws.expect("error"))["code"] == "kiosk_revoked"
        with pytest.raises(Exception) as closed:
            await ws.recv()
        assert "4003" in str(closed.value)

    async with WsClient(server.url) as ws:
        await ws.send(type="auth", token=kiosk["token"])
        assert (await ws.recv())["code"] == "unauthorized"
