"""A TCP proxy on loopback that breaks the network between a node and a service on command.

    proxy = FaultProxy(tcp_upstream(4222)).start()   # or a Unix socket path upstream
    ...point the node at 127.0.0.1:proxy.port...
    proxy.delay(10)          every chunk, both ways, arrives 10 s late (a slow service)
    proxy.blackhole(5)       bytes and closes wait (connections stay open), then flow again:
                             a paused service or a partition that heals; None = until heal()
    proxy.cut()              reset every open connection now; new ones are accepted
    proxy.refuse()           reset every connection and every new one until heal() (down)
    proxy.heal()             back to a clean pass-through; held bytes are delivered in order
    proxy.tap(hook)          hook(direction, chunk) sees every chunk as it is read, before it
                             is forwarded: a test can fire another fault at an exact protocol
                             moment (e.g. blackhole PostgreSQL when NATS acks a publish)

All proxies share one event loop in a daemon thread. A test that blocks its own loop (a
synchronous node start or stop) therefore never stalls the traffic it proxies, and a fault
commanded from a tap (which runs on that loop) takes effect before the next chunk moves.
Commands are synchronous, thread-safe, and effective when they return.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from tests.faults.log import FAULTS

T = TypeVar("T")
CHUNK = 65536
UPSTREAM = "upstream"  # direction of bytes from the client (node) to the service
DOWNSTREAM = "downstream"  # from the service back to the client


@dataclass(frozen=True)
class Upstream:
    """Where the proxy connects: a TCP host and port, or a Unix socket path."""

    host: str = "127.0.0.1"
    port: int = 0
    unix_path: str | None = None

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.unix_path is not None:
            return await asyncio.open_unix_connection(self.unix_path, limit=CHUNK)
        return await asyncio.open_connection(self.host, self.port, limit=CHUNK)


def tcp_upstream(port: int, host: str = "127.0.0.1") -> Upstream:
    return Upstream(host, port)


class Mode(StrEnum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"


# -- the shared loop -------------------------------------------------------------------------
_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def network_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="fault-proxies", daemon=True).start()
            _loop = loop
        return _loop


def _on_loop(fn: Callable[[], T]) -> T:
    """Run `fn` on the proxies' loop and return its result (directly when already there)."""
    loop = network_loop()
    if threading.current_thread().name == "fault-proxies":
        return fn()
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            done.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            done.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return done.result(timeout=10)


# -- one proxied connection ------------------------------------------------------------------
@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        """Abort both sides (an RST, not a polite close) and stop moving bytes."""
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class FaultProxy:
    def __init__(self, upstream: Upstream, *, name: str = "proxy") -> None:
        self.upstream = upstream
        self.name = name
        self.port = 0
        self.connections = 0  # accepted so far
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._mode = Mode.PASS
        self._delay = 0.0
        self._released: asyncio.Event | None = None  # set = bytes flow; clear = held
        self._heal_timer: asyncio.TimerHandle | None = None
        self._taps: list[Callable[[str, bytes], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        loop = network_loop()
        server = asyncio.run_coroutine_threadsafe(self._start(), loop).result(timeout=10)
        self._server = server
        self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def _start(self) -> asyncio.Server:
        self._released = asyncio.Event()
        self._released.set()
        return await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=CHUNK)

    def stop(self) -> None:
        def close() -> None:
            if self._server is not None:
                self._server.close()
            self._reset_all()
            if self._released is not None:
                self._released.set()

        _on_loop(close)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- faults ------------------------------------------------------------------------------
    def delay(self, seconds: float) -> None:
        """Every chunk read from now on is forwarded `seconds` later (order is kept)."""
        FAULTS.record(f"{self.name}:delay")
        _on_loop(lambda: setattr(self, "_delay", seconds))

    def blackhole(self, seconds: float | None = None) -> None:
        """Hold every byte (and close) in both directions; heal after `seconds` if given."""
        FAULTS.record(f"{self.name}:blackhole")

        def hold() -> None:
            assert self._released is not None
            self._mode = Mode.BLACKHOLE
            self._released.clear()
            self._schedule_heal(seconds)

        _on_loop(hold)

    def cut(self) -> None:
        """Reset every open connection now; the proxy keeps accepting new ones."""
        FAULTS.record(f"{self.name}:cut")
        _on_loop(self._reset_all)

    def refuse(self, seconds: float | None = None) -> None:
        """The service is down: reset every connection, and every new one until heal()."""
        FAULTS.record(f"{self.name}:refuse")

        def down() -> None:
            self._mode = Mode.REFUSE
            self._reset_all()
            self._schedule_heal(seconds)

        _on_loop(down)

    def heal(self) -> None:
        _on_loop(self._heal)

    def tap(self, hook: Callable[[str, bytes], None]) -> None:
        """Call hook(direction, chunk) on the proxies' loop for every chunk read."""
        _on_loop(lambda: self._taps.append(hook))

    @property
    def mode(self) -> str:
        return _on_loop(lambda: self._mode.value)

    def _heal(self) -> None:
        self._mode = Mode.PASS
        self._delay = 0.0
        if self._heal_timer is not None:
            self._heal_timer.cancel()
            self._heal_timer = None
        if self._released is not None:
            self._released.set()

    def _schedule_heal(self, seconds: float | None) -> None:
        if self._heal_timer is not None:
            self._heal_timer.cancel()
            self._heal_timer = None
        if seconds is not None:
            self._heal_timer = asyncio.get_running_loop().call_later(seconds, self._heal)

    def _reset_all(self) -> None:
        for link in list(self._links):
            link.reset()
        self._links.clear()

    # -- moving bytes ------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._mode is Mode.REFUSE:
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            up_reader, up_writer = await self.upstream.connect()
        except OSError:
            self._links.discard(link)
            writer.transport.abort()  # the service itself is unreachable: say so the same way
            return
        link.server = up_writer
        if link not in self._links:  # cut while connecting
            link.reset()
            return
        link.tasks = [
            asyncio.create_task(self._pipe(reader, up_writer, UPSTREAM)),
            asyncio.create_task(self._pipe(up_reader, writer, DOWNSTREAM)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        self._links.discard(link)
        link.reset()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        """Read, tap, stamp a due time, and let `_forward` write in order when allowed."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        forward = asyncio.create_task(self._forward(queue, writer))
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    chunk = await reader.read(CHUNK)
                except (ConnectionError, OSError):
                    chunk = b""
                for hook in list(self._taps):
                    hook(direction, chunk)
                queue.put_nowait((loop.time() + self._delay, chunk))
                if not chunk:
                    break
            await forward
        finally:
            forward.cancel()

    async def _forward(self, queue: asyncio.Queue[tuple[float, bytes]], writer: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, chunk = await queue.get()
            assert self._released is not None
            await self._released.wait()  # a blackhole holds bytes here, in order
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
                await self._released.wait()
            if not chunk:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            try:
                writer.write(chunk)
                await writer.drain()
            except (ConnectionError, OSError):
                return
