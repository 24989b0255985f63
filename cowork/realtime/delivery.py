"""How an event reaches a client: encoded once per channel, written straight to each transport.

The hub groups the events of one loop turn by channel into a `Burst`, which encodes its final
bytes once per wire format (an SSE chunk, a websocket text frame) and is written to every
subscriber's transport with one `write` each: no per-client queue, task or wake-up. Backpressure
is checked on every write: a transport holding more than its byte limit unsent means a slow
client, which is cut off (it resumes with Last-Event-ID). Before a subscriber goes live (while
its replay runs) bursts wait in a buffer bounded by a count of events. Every buffer a
subscriber owns is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

from cowork.realtime.channels import Channel, Delivery

KERNEL_BUFFER = 64 * 1024  # a slow client's socket holds at most about twice this unsent


class Wire(Enum):
    SSE = "sse"
    WS = "ws"


class Sink(Protocol):
    """Where a subscriber's bytes go: one client's transport, in one wire format."""

    wire: Wire

    def write(self, data: bytes) -> bool:
        """Write `data` now; False (nothing written) when the client cannot take it."""
        ...

    def abort(self) -> None:
        """Cut the connection at once, even with unsent bytes."""
        ...


class Transport(Protocol):
    def get_extra_info(self, name: str, default: Any = None) -> Any: ...
    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...
    def abort(self) -> None: ...


class TransportSink:
    """A transport with a bound on unsent bytes: the kernel's socket buffer (set to
    KERNEL_BUFFER, which Linux doubles) and then `limit` bytes in the transport."""

    __slots__ = ("_transport", "limit", "wire")

    def __init__(self, transport: Transport, wire: Wire, limit: int) -> None:
        self._transport = transport
        self.wire = wire
        self.limit = limit
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(Exception):  # not every transport has a real socket
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_BUFFER)

    def write(self, data: bytes) -> bool:
        transport = self._transport
        if transport.is_closing():
            return False
        if transport.get_write_buffer_size() + len(data) > self.limit:
            return False
        transport.write(data)
        return True

    def abort(self) -> None:
        self._transport.abort()


def sse_chunk(frames: bytes) -> bytes:
    """SSE frames as one HTTP/1.1 chunk (the stream's response is chunked)."""
    return b"%x\r\n%b\r\n" % (len(frames), frames)


def ws_frame(text: bytes) -> bytes:
    """One unmasked, uncompressed websocket text frame (server → client, RFC 6455 §5.2)."""
    n = len(text)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + text
    if n < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, n) + text
    return struct.pack("!BBQ", 0x81, 127, n) + text


def ws_event(channel: Channel, delivery: Delivery) -> bytes:
    return b'{"type":"event","channel":%b,"event":%b}' % (
        json.dumps(channel.name).encode(),
        delivery.json.encode(),
    )


def last_words(channel: Channel, reason: str, wire: Wire) -> bytes:
    """What a stream the server ends on purpose says last: why (an SSE `end` event, a
    websocket `ended` message)."""
    if wire is Wire.SSE:
        end = {"type": "end", "v": 1, "channel": channel.name, "reason": reason}
        return sse_chunk(Delivery.from_envelope(None, end).frame)
    ended = {"type": "ended", "channel": channel.name, "reason": reason}
    return ws_frame(json.dumps(ended, separators=(",", ":")).encode())


class Burst:
    """Consecutive events of one channel, encoded lazily once per wire format."""

    __slots__ = ("_sse", "_ws", "channel", "deliveries")

    def __init__(self, channel: Channel, deliveries: list[Delivery]) -> None:
        self.channel = channel
        self.deliveries = deliveries
        self._sse: bytes | None = None
        self._ws: bytes | None = None

    def encoded(self, wire: Wire) -> bytes:
        if wire is Wire.SSE:
            if self._sse is None:
                self._sse = sse_chunk(b"".join(d.frame for d in self.deliveries))
            return self._sse
        if self._ws is None:
            self._ws = b"".join(ws_frame(ws_event(self.channel, d)) for d in self.deliveries)
        return self._ws

    def after(self, floor: int) -> Burst:
        """This burst without the events a replay already sent (id ≤ floor)."""
        if all(d.id is None or d.id > floor for d in self.deliveries):
            return self
        kept = [d for d in self.deliveries if d.id is None or d.id > floor]
        return Burst(self.channel, kept)


# Reasons that end a subscriber without a last word: the client cannot or need not hear it
# (a node shutting down closes the connection itself; the client resumes elsewhere).
SILENT = frozenset({"overflow", "unsubscribed", "disconnected", "shutdown"})


class Subscriber:
    """One client's subscription to one channel: buffered until live, then written directly."""

    __slots__ = (
        "_done",
        "_live",
        "_on_close",
        "_pending",
        "_pending_events",
        "channel",
        "closed_reason",
        "maxsize",
        "overflowed",
        "sink",
    )

    def __init__(
        self, channel: Channel, sink: Sink, maxsize: int, on_close: Callable[[Subscriber], None]
    ) -> None:
        self.channel = channel
        self.sink = sink
        self.maxsize = maxsize  # events buffered before going live
        self.overflowed = False
        self.closed_reason: str | None = None
        self._pending: deque[Burst] | None = deque()
        self._pending_events = 0
        self._live = False
        self._done: asyncio.Future[str] | None = None
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, burst: Burst) -> None:
        """Hand over the channel's latest events: written now when live, else buffered."""
        if self.closed_reason is not None:
            return
        if self._live:
            if not self.sink.write(burst.encoded(self.sink.wire)):
                self._overflow()
            return
        assert self._pending is not None
        self._pending_events += len(burst.deliveries)
        if self._pending_events > self.maxsize:
            self._overflow()
            return
        self._pending.append(burst)

    def go_live(self, floor: int) -> None:
        """The replay is sent: write what was buffered (ids > floor), then write directly."""
        pending, self._pending = self._pending, None
        self._live = True
        for burst in pending or ():
            kept = burst.after(floor)
            if kept.deliveries:
                self.offer(kept)

    def close(self, reason: str) -> None:
        """End the subscription; unless SILENT, the client first gets `last_words`."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._pending = None
        if reason not in SILENT:
            self.sink.write(last_words(self.channel, reason, self.sink.wire))
        if self._done is not None and not self._done.done():
            self._done.set_result(reason)
        self._on_close(self)

    def _overflow(self) -> None:
        self.overflowed = True
        self.close("overflow")
        self.sink.abort()  # it may be stuck in a blocked send: cut the connection itself

    async def wait_closed(self, timeout: float | None = None) -> str | None:
        """The reason it closed, or None after `timeout` seconds still open."""
        if self.closed_reason is not None:
            return self.closed_reason
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        await asyncio.wait((self._done,), timeout=timeout)
        return self.closed_reason
