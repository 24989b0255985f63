"""Realtime benchmark: holds committed through the API → outbox → relay → JetStream → hub →
N SSE clients, on one node running as its own process, beside raw nats-py on the same server.

    .venv/bin/python -m bench.realtime [--clients 5000] [--rates 20,30] [--seconds 20]
        [--idle 5000] [--workers 2]

Against one `python -m cowork serve` process (bench/common.py `node()`):

1. memory: open `--idle` idle SSE connections (location stream) from the client processes and
   read the node's VmRSS from /proc/<pid>/status at a warmed-up baseline, at 1,000 and at
   `--idle` connections.
2. then one round per rate, each `--seconds` long:
   a. raw floor: one nats-py publisher (this process) sends messages at the rate, each carrying
      its publish time, padded to the size of a cowork envelope, flushed one by one; received by
      one subscription, then by `--clients` subscriptions spread over the client processes
      (one NATS connection per process);
   b. cowork: `--clients` SSE clients on the location stream; this process POSTs holds at the
      rate (open loop); every client measures `now - at` for each `booking.held` event (`at` =
      the outbox row's `now()`, its transaction's start, a few ms before the commit). The node's
      CPU time over the round is read from /proc/<pid>/stat.

Clients live in `--workers` spawned processes (raw asyncio sockets, no HTTP library), so no
client shares the server's event loop. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

HOST = "127.0.0.1"
OPEN_CONCURRENCY = 40  # connections being opened at once per client process (Sanic backlog: 100)
OPEN_ATTEMPTS = 3  # a busy host may still reset a connect; try again
SAMPLE = 20  # one client in SAMPLE records latencies; every client counts deliveries
ENVELOPE_BYTES = 300  # ≈ one public booking.held envelope; the raw payload is padded to it


def run_fast(main: Awaitable[None]) -> None:
    """asyncio.run on uvloop (Sanic's dependency) when it is there: cheaper per socket read."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)  # type: ignore[arg-type]
        return
    uvloop.run(main)  # type: ignore[arg-type]


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- client side (runs in the spawned worker processes) ------------------------------------------


class Tally:
    """One worker's received latencies and completion count."""

    def __init__(self, expected: int, clients: int) -> None:
        self.expected = expected
        self.clients = clients
        self.finished = 0
        self.received = 0
        self.last_at = 0.0  # wall clock of the last counted delivery
        self.latencies = array("d")
        self.all_done = asyncio.Event()
        self._at: dict[bytes, float] = {}

    def epoch(self, at: bytes) -> float:
        t = self._at.get(at)
        if t is None:
            t = self._at[at] = datetime.fromisoformat(at.decode()).timestamp()
        return t

    def one_done(self) -> None:
        self.finished += 1
        if self.finished == self.clients:
            self.all_done.set()


MARK = b"event: booking.held\n"


class SSEClient(asyncio.Protocol):
    """A minimal HTTP/1.1 SSE reader. Every client counts every `booking.held` it receives (a
    byte count over what arrived, cheap enough for thousands of clients per process); a sampled
    client also splits frames and records receipt time minus the envelope's `at`, taken once per
    read before any parsing."""

    def __init__(
        self, request: bytes, tally: Tally, loop: asyncio.AbstractEventLoop, sampled: bool
    ) -> None:
        self.request = request
        self.tally = tally
        self.sampled = sampled
        self.connected: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.headers_done = False
        self.got = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def _count(self, n: int) -> None:
        before = self.got
        self.got += n
        self.tally.received += n
        self.tally.last_at = time.time()
        if before < self.tally.expected <= self.got:
            self.tally.one_done()

    def data_received(self, data: bytes) -> None:
        if not self.sampled and self.connected.done():
            buf = self.buf + data  # only a short tail is carried over
            self._count(buf.count(MARK))
            self.buf = buf[-(len(MARK) - 1) :]
            return
        now = time.time()
        buf = self.buf + data
        if not self.headers_done:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[: buf.find(b"\r\n")]
            if b" 200 " not in status and not self.connected.done():
                self.connected.set_exception(RuntimeError(status.decode(errors="replace")))
            buf = buf[end + 4 :]
            self.headers_done = True
        while (end := buf.find(b"\n\n")) >= 0:
            frame = buf[:end]
            buf = buf[end + 2 :]
            if MARK in frame:
                i = frame.find(b'"at":"') + 6
                self.tally.latencies.append(now - self.tally.epoch(frame[i : frame.find(b'"', i)]))
                self._count(1)
            elif b": connected" in frame and not self.connected.done():
                self.connected.set_result(None)
                if not self.sampled:
                    self.buf = b""
                    self.data_received(buf)
                    return
        self.buf = buf

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.connected.done():
            self.connected.set_exception(exc or ConnectionError("closed before connected"))


def same(client: SSEClient) -> SSEClient:
    return client


async def open_streams(url: str, n: int, tally: Tally) -> list[SSEClient]:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    port = parts.port or 80
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    numbers = itertools.count()
    clients: list[SSEClient] = []

    async def one() -> None:
        async with gate:
            for attempt in range(OPEN_ATTEMPTS):
                client = SSEClient(request, tally, loop, sampled=next(numbers) % SAMPLE == 0)
                try:
                    await loop.create_connection(functools.partial(same, client), HOST, port)
                    await asyncio.wait_for(client.connected, 60)
                except (OSError, TimeoutError):
                    if client.transport is not None:
                        client.transport.close()
                    if attempt == OPEN_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                clients.append(client)
                return

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        print(f"[worker {os.getpid()}] {len(errors)} streams failed, first: {errors[0]!r}")
    return clients


def sse_worker(pipe: Connection, url: str, n: int, expected: int, seconds: float) -> None:
    """Open n streams, report ready; then either wait for `expected` events per stream (at most
    `seconds`) or, with expected == 0, hold them idle until told to close."""
    raise_nofile()
    raise_nofile()

    async def main() -> None:
        tally = Tally(expected, n)
        clients = await open_streams(url, n, tally)
        pipe.send(("ready", len(clients)))
        if expected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.all_done.wait(), seconds)
        else:
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        for client in clients:
            if client.transport is not None:
                client.transport.close()
        done = (tally.latencies.tobytes(), tally.finished, len(clients), tally.received)
        pipe.send(("done", *done, tally.last_at))

    run_fast(main())


def nats_worker(
    pipe: Connection, nats_url: str, n: int, subject: str, expected: int, seconds: float
) -> None:
    """n subscriptions on one connection; each message carries its publish time."""
    import nats
    from nats.aio.msg import Msg

    async def main() -> None:
        tally = Tally(expected, n)
        nc = await nats.connect(nats_url, pending_size=256 * 1024 * 1024)
        counts = [0] * n

        def handler(k: int) -> Callable[[Msg], Awaitable[None]]:
            async def on_msg(msg: Msg) -> None:
                now = time.time()
                if k % SAMPLE == 0:
                    tally.latencies.append(now - float(msg.data[:20]))
                counts[k] += 1
                tally.received += 1
                tally.last_at = now
                if counts[k] == expected:
                    tally.one_done()

            return on_msg

        for k in range(n):
            await nc.subscribe(subject, cb=handler(k), pending_msgs_limit=1_000_000)
        await nc.flush()
        pipe.send(("ready", n))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_done.wait(), seconds)
        await nc.close()
        pipe.send(
            ("done", tally.latencies.tobytes(), tally.finished, n, tally.received, tally.last_at)
        )

    run_fast(main())


# -- driver side ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float]  # seconds, sorted (sampled receivers only)
    expected: int
    complete: int  # receivers that got every event
    clients: int
    received: int  # deliveries counted by every receiver
    seconds: float  # first event sent → last delivery received

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else float("nan")

    def pct(self, q: float) -> float:
        lat = self.latencies
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    def line(self) -> str:
        lat = self.latencies
        mean = statistics.fmean(lat) * 1000 if lat else float("nan")
        return (
            f"{self.name}: {self.received:,}/{self.expected:,} delivered "
            f"({self.expected - self.received:,} missing, {self.rate:,.0f}/s), "
            f"{self.complete}/{self.clients} receivers complete; latency of "
            f"{len(lat):,} sampled, ms p50 {self.pct(0.5):.2f}  "
            f"p90 {self.pct(0.9):.2f}  p99 {self.pct(0.99):.2f}  "
            f"max {(lat[-1] * 1000 if lat else float('nan')):.2f}  mean {mean:.2f}"
        )


@dataclass
class Received:
    latencies: list[float]
    complete: int
    clients: int
    received: int
    last_at: float


class Workers:
    """Client processes for one phase; each gets its share of the receivers.
    `target(pipe, first, n, *rest)` for `Workers(target, share, first, *rest)`."""

    def __init__(self, target: Callable[..., None], share: list[int], *args: object) -> None:
        ctx = mp.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for n in share:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=target, args=(theirs, *args[:1], n, *args[1:]), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def wait_ready(self, timeout: float) -> int:
        total = 0
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError("a client process did not get ready in time")
            tag, n = pipe.recv()
            assert tag == "ready"
            total += n
        return total

    def tell(self, message: str) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def collect(self, timeout: float) -> Received:
        got = Received([], 0, 0, 0, 0.0)
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError("a client process did not report in time")
            tag, raw, done, n, received, last_at = pipe.recv()
            assert tag == "done"
            part = array("d")
            part.frombytes(raw)
            got.latencies.extend(part)
            got.complete += done
            got.clients += n
            got.received += received
            got.last_at = max(got.last_at, last_at)
        got.latencies.sort()
        return got

    def close(self) -> None:
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def node_pid(port: int) -> int:
    """The `cowork serve` child listening on `port` (node() does not expose its pid)."""
    import psutil

    for child in psutil.Process().children():
        try:
            if "serve" in child.cmdline() and child.environ().get("PORT") == str(port):
                return child.pid
        except psutil.Error:
            continue
    raise RuntimeError(f"no node process on port {port}")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def sse_gauge(url: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('cowork_stream_connections{kind="sse"}'):
                return float(line.split()[-1])
    return 0.0


def settle_rss(pid: int, seconds: float = 3.0) -> int:
    """RSS once it stopped moving (sampled every 0.5 s, at most `seconds`)."""
    last = rss(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss(pid)
        if now == last:
            break
        last = now
    return last


async def post_holds(
    url: str, space_ids: list[int], user_ids: list[int], events: int, rate: float, offset: int
) -> dict[int, int]:
    """POST `events` holds at `rate`/s, open loop (each at its scheduled time, not after the
    previous answer); distinct slots, so every one should be a 201."""
    import aiohttp

    from bench.common import JWT_SECRET
    from cowork.accounts.tokens import Principal, Role, TokenKind, issue

    now = datetime.now(UTC)
    headers = [
        {
            "Authorization": "Bearer "
            + issue(JWT_SECRET, Principal(u, Role.MEMBER), TokenKind.ACCESS, 3600, now=now)
        }
        for u in user_ids
    ]
    base = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:

        async def hold(i: int) -> None:
            n = offset + i
            space = space_ids[n % len(space_ids)]
            start = base + timedelta(hours=n // len(space_ids))
            body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
            async with http.post(
                f"{url}/api/v1/spaces/{space}/bookings",
                json=body,
                headers=headers[n % len(headers)],
            ) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1

        tasks = []
        t0 = time.monotonic()
        for i in range(events):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(hold(i)))
        await asyncio.gather(*tasks)
    return statuses


async def publish_raw(nats_url: str, subject: str, events: int, rate: float) -> None:
    import nats

    nc = await nats.connect(nats_url)
    pad = b" " * (ENVELOPE_BYTES - 20)
    t0 = time.monotonic()
    for i in range(events):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await nc.publish(subject, f"{time.time():<20.6f}".encode() + pad)
        await nc.flush()  # one message per write, as the relay's acked publishes are
    await nc.close()


def raw_phase(name: str, nats_url: str, share: list[int], events: int, rate: float) -> Phase:
    subject = f"bench.raw.{len(share)}.{sum(share)}"
    budget = events / rate + 60
    workers = Workers(nats_worker, share, nats_url, subject, events, budget)
    try:
        receivers = workers.wait_ready(60)
        began = time.time()
        asyncio.run(publish_raw(nats_url, subject, events, rate))
        got = workers.collect(budget + 30)
    finally:
        workers.close()
    return phase_of(name, got, events * receivers, began)


def phase_of(name: str, got: Received, expected: int, began: float) -> Phase:
    span = got.last_at - began
    return Phase(name, got.latencies, expected, got.complete, got.clients, got.received, span)


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process, from /proc/<pid>/stat."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def memory_phase(url: str, stream: str, pid: int, idle: int, workers: int) -> list[str]:
    base = settle_rss(pid)
    lines = [f"memory (node pid {pid}): baseline RSS {base / 2**20:.1f} MiB"]
    held: list[Workers] = []
    opened, prev_n, prev_rss = 0, 0, base
    try:
        for step in sorted({min(1000, idle), idle}):
            w = Workers(sse_worker, split(step - opened, workers), stream, 0, 0.0)
            held.append(w)
            opened += w.wait_ready(300)
            now = settle_rss(pid)
            lines.append(
                f"  {opened:>5} idle SSE (server gauge {sse_gauge(url):.0f}): RSS "
                f"{now / 2**20:.1f} MiB, {(now - base) / opened / 1024:.1f} KiB/conn from "
                f"baseline, {(now - prev_rss) / max(1, opened - prev_n) / 1024:.1f} KiB/conn for "
                f"the last {opened - prev_n}"
            )
            prev_n, prev_rss = opened, now
    finally:
        for w in held:
            w.tell("close")
        for w in held:
            w.collect(60)
            w.close()
    lines.append(f"  load average after: {fmt_load()}")
    return lines


def start_profile(path: str, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy (PyPI: `pip install py-spy`) sampling the node for `seconds`, as collapsed stacks."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw", "-o", path]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def fmt_load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000, help="SSE clients (latency)")
    parser.add_argument(
        "--rates", default="20,30", help="holds (raw messages) per second, one round per rate"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each round")
    parser.add_argument("--idle", type=int, default=5000, help="idle SSE connections (memory)")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--spaces", type=int, default=20)
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="py-spy the node during the first round (collapsed stacks)",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    limit = raise_nofile()  # the node inherits it
    if limit < max(args.idle, args.clients) + 1000:
        raise SystemExit(f"open-files hard limit {limit} is too low for --idle {args.idle}")

    from bench.common import node, seed, stack
    from cowork.devstack import free_port

    print(f"host: {os.cpu_count()} CPUs, load average {fmt_load()}, nofile {limit}", flush=True)
    report: list[str] = []
    with stack() as s:
        loc, space_ids, user_ids = asyncio.run(seed(s.database_url, args.spaces, 50))
        port = free_port()
        with node(s, "rt-1", port=port, COWORK_HOLD_TTL_SECONDS="3600") as url:
            pid = node_pid(port)
            stream = f"{url}/api/v1/streams/locations/{loc}"
            # Warm every code path the phases use before taking the memory baseline.
            asyncio.run(post_holds(url, space_ids, user_ids, 10, 50, offset=0))
            offset = 10
            warm = Workers(sse_worker, [50], stream, 0, 0.0)
            warm.wait_ready(60)
            warm.tell("close")
            warm.collect(30)
            warm.close()

            if args.idle:
                report += memory_phase(url, stream, pid, args.idle, args.workers)
                print("\n".join(report), flush=True)

            share = split(args.clients, args.workers)
            for rate in rates:
                events = max(1, round(rate * args.seconds))
                raw1 = raw_phase("raw nats, 1 subscription", s.nats_url, [1], events, rate)
                rawn = raw_phase(
                    f"raw nats, {args.clients} subscriptions", s.nats_url, share, events, rate
                )
                budget = args.seconds + 120
                workers = Workers(sse_worker, share, stream, events, budget)
                try:
                    clients = workers.wait_ready(300)
                    spy = start_profile(args.profile, pid, args.seconds) if args.profile else None
                    args.profile = None
                    cpu0, began = cpu_split(pid), time.time()
                    statuses = asyncio.run(
                        post_holds(url, space_ids, user_ids, events, rate, offset)
                    )
                    got = workers.collect(budget + 30)
                    took, cpu1 = time.time() - began, cpu_split(pid)
                    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
                    cpu = user + system
                finally:
                    workers.close()
                    if spy is not None:
                        spy.wait(60)
                offset += events
                name = f"cowork SSE, {clients} clients"
                cowork = phase_of(name, got, events * clients, began)
                lines = [
                    "",
                    f"round: {events} events at {rate:g}/s ({rate * clients:,.0f} client "
                    f"deliveries/s offered); holds {statuses}; all delivered after {took:.1f}s; "
                    f"node CPU {cpu:.1f}s (user {user:.1f}s, system {system:.1f}s) = "
                    f"{cpu / max(1, got.received) * 1e6:.1f} us per delivery "
                    "(holds included)",
                    *(phase.line() for phase in (raw1, rawn, cowork)),
                    *(
                        f"ratio cowork / {floor.name}: p50 {cowork.pct(0.5) / floor.pct(0.5):.1f}x"
                        f", p99 {cowork.pct(0.99) / floor.pct(0.99):.1f}x"
                        for floor in (raw1, rawn)
                    ),
                    f"load average after the round: {fmt_load()}",
                ]
                print("\n".join(lines), flush=True)
                report += lines


if __name__ == "__main__":
    main()
