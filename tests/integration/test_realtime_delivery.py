"""Delivery mechanics: bounded buffers, one write per burst, and a subscriber closed with a reason.

The buffer tests use a real TCP connection whose far end never reads, so the kernel's buffers
fill and the transport's own buffer is what the bound must hold.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from cowork.realtime.channels import Channel, ChannelKind, Delivery
from cowork.realtime.delivery import Burst, Subscriber, TransportSink, Wire
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient, WsClient, stream_token
from tests.polling import poll

CHANNEL = Channel(ChannelKind.SPACE, 7)
LIMIT = 64 * 1024


def _event(seq: int, size: int = 200) -> Delivery:
    return Delivery.from_envelope(seq, {"type": "booking.held", "v": 1, "data": "x" * size})


class _Stalled:
    """A server-side transport over loopback whose client reads nothing (tiny receive buffer)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: socket.socket | None = None
        self.lost = asyncio.Event()

    async def __aenter__(self) -> _Stalled:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        self.peer = socket.socket()
        self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.peer.connect(listener.getsockname())
        server_side, _ = listener.accept()
        listener.close()
        server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        lost = self.lost

        class Proto(asyncio.Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                lost.set()

        self.transport, _ = await loop.connect_accepted_socket(Proto, server_side)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.transport is not None and self.peer is not None
        self.transport.abort()
        self.peer.close()


@pytest.fixture
async def stalled() -> AsyncIterator[_Stalled]:
    async with _Stalled() as s:
        yield s


def _subscriber(transport: asyncio.Transport, maxsize: int = 8) -> tuple[Subscriber, list[str]]:
    closed: list[str] = []
    sink = TransportSink(transport, Wire.SSE, LIMIT)
    sub = Subscriber(CHANNEL, sink, maxsize, lambda s: closed.append(s.closed_reason or ""))
    return sub, closed


async def test_live_client_that_stops_reading_is_cut_off_with_its_buffer_bounded(stalled):
    """Fault: a live subscriber's unsent bytes grow without bound (the review's finding)."""
    assert stalled.transport is not None
    sub, closed = _subscriber(stalled.transport)
    sub.go_live(0)
    seq = 0
    while not sub.closed:
        seq += 1
        assert seq < 10_000, "a client that never reads was never cut off"
        sub.offer(Burst(CHANNEL, [_event(seq, 4000)]))
        assert stalled.transport.get_write_buffer_size() <= LIMIT
    assert sub.overflowed and closed == ["overflow"]
    await asyncio.wait_for(stalled.lost.wait(), 15)  # the connection itself was aborted


async def test_buffer_before_going_live_holds_at_most_maxsize_events(stalled):
    """Fault: events pile up without bound while a subscriber's replay runs."""
    assert stalled.transport is not None
    sub, closed = _subscriber(stalled.transport, maxsize=8)
    for seq in range(1, 9):
        sub.offer(Burst(CHANNEL, [_event(seq)]))
    assert not sub.closed  # 8 buffered is within the bound
    sub.offer(Burst(CHANNEL, [_event(9)]))
    assert sub.overflowed and closed == ["overflow"]


async def test_going_live_skips_what_the_replay_sent_and_coalesces_a_burst():
    """Fault: a replayed id is sent twice, or a burst costs one write per event."""
    writes: list[bytes] = []

    class Recording:
        wire = Wire.SSE

        def write(self, data: bytes) -> bool:
            writes.append(data)
            return True

        def abort(self) -> None:
            raise AssertionError("not a slow client")

    sub = Subscriber(CHANNEL, Recording(), 8, lambda s: None)
    sub.offer(Burst(CHANNEL, [_event(1), _event(2), _event(3)]))
    sub.go_live(2)
    sub.offer(Burst(CHANNEL, [_event(4), _event(5)]))
    assert len(writes) == 2  # one write for the buffer's survivors, one for the live burst
    assert b"id: 1\n" not in writes[0] and b"id: 2\n" not in writes[0]
    assert b"id: 3\n" in writes[0]
    assert writes[1].count(b"\r\n") == 2  # a single chunk: size line + payload
    assert b"id: 4\n" in writes[1] and b"id: 5\n" in writes[1]


async def _only_subscriber(hub, channel: Channel) -> Subscriber:
    async def count() -> int:
        return int(hub.count(channel))

    await poll(count, lambda n: n == 1)
    return next(iter(hub._subscribers[channel]))


async def test_closing_an_sse_subscriber_sends_why_then_ends_the_stream(server):
    """Fault: a stream whose right ended stays open, or ends without telling the client why."""
    member = await make_user()
    token = stream_token(server.settings, member.id)
    hub = server.app.ctx.services.hub
    channel = Channel(ChannelKind.USER, member.id)
    async with SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as sse:
        sub = await _only_subscriber(hub, channel)
        sub.close("token_expired")
        end = await sse.next()
        assert end.event == "end" and end.data["reason"] == "token_expired"
        with pytest.raises(EOFError):
            await sse.next()
    assert hub.count(channel) == 0


async def test_closing_a_websocket_subscriber_sends_why(server):
    """Fault: a websocket subscription ended by the server is silent about it."""
    loc = await make_location()
    space = await make_space(loc)
    hub = server.app.ctx.services.hub
    channel = Channel(ChannelKind.SPACE, space.id)
    async with WsClient(server.url) as ws:
        await ws.send(type="subscribe", channel=channel.name)
        await ws.expect("subscribed")
        sub = await _only_subscriber(hub, channel)
        sub.close("deactivated")
        ended = await ws.expect("ended")
        assert ended["reason"] == "deactivated" and ended["channel"] == channel.name
    assert hub.count(channel) == 0
