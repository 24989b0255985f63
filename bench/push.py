"""Push benchmark: how many Web Pushes one node's delivery worker sends per second to a local
push service, and how much latency the worker adds between an event's commit and the push
request, beside two baselines measured in the same run.

    .venv/bin/python -m bench.push [--events 2000] [--rate 100] [--seconds 10] [--concurrency 16]

One process plays the node: it commits events (as an actor would, waking the relay), runs the
outbox relay and the delivery worker (`DeliveryWorker`, production code path: pywebpush with
VAPID and aes128gcm through the guarded aiohttp session). The push service is an aiohttp server
in a spawned process answering 201 and recording arrival times. Rounds:

1. direct: the same pushes sent straight from this process with pywebpush at the worker's
   concurrency (no database, no JetStream): the floor of encrypting and POSTing in Python;
2. throughput: `--events` events committed first, then relay + worker started; pushes/s until
   the last arrives;
3. latency: events committed at `--rate` per second for `--seconds` (open loop), each to its
   own member with one device; per event: commit → JetStream (a plain NATS subscription in this
   process) and commit → push request at the push service (same host clock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tortoise.transactions import in_transaction

from bench.common import JWT_SECRET, Stack, seed, stack
from cowork.clock import SystemClock
from cowork.config import Environment, NotifySettings, Settings
from cowork.devstack import free_port
from cowork.metrics import Metrics
from cowork.notify.outbound import OutboundGuard, OutboundPolicy, guarded_session
from cowork.notify.vapid import b64url, generate_private_key, load_vapid
from cowork.notify.worker import DeliveryWorker, consumer_config
from cowork.realtime.bus import Bus
from cowork.realtime.relay import OutboxRelay
from cowork.realtime.stream import STREAM, ensure_stream
from cowork.store.db import close_orm, init_orm
from cowork.store.events import BookingFacts, emit_booking_event


def subscription_keys() -> tuple[str, str]:
    """One browser's keys for every device: the encryption cost is per push either way."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64url(point), b64url(os.urandom(16))


P256DH, AUTH = subscription_keys()


def receiver(pipe: Connection, port: int) -> None:
    """The push service: 201 for every POST, arrival time (wall clock) per path."""
    from aiohttp import web

    arrivals: dict[str, float] = {}

    async def push(request: web.Request) -> web.Response:
        await request.read()
        arrivals[request.path] = time.time()
        return web.Response(status=201)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/push/{id}", push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        pipe.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "stop":
                return
            if command == "count":
                pipe.send(len(arrivals))
            elif command == "take":
                pipe.send(dict(arrivals))
                arrivals.clear()

    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self._pipe, child = mp.Pipe()
        self._proc = mp.get_context("spawn").Process(
            target=receiver, args=(child, self.port), daemon=True
        )
        self._proc.start()
        assert self._pipe.recv() == "ready"

    def ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    async def wait_for(self, n: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.ask("count") < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.ask('count')} of {n} pushes arrived")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._pipe.send("stop")
        self._proc.join(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed_members(url: str, push_url: str, first: int, n: int) -> list[int]:
    """n members with one Web Push device each, pointing at /push/<member id>."""
    conn = await asyncpg.connect(url)
    try:
        ids = await conn.fetch(
            "INSERT INTO users (email, password_hash, name, role, is_active, created_at, "
            "updated_at) SELECT 'push' || g || '@example.com', '!', 'Member ' || g, 'member', "
            "true, now(), now() FROM generate_series($1::int, $2::int) g RETURNING id",
            first,
            first + n - 1,
        )
        users = [r["id"] for r in ids]
        await conn.execute(
            "INSERT INTO push_devices (user_id, kind, address, p256dh, auth) "
            "SELECT u, 'webpush', $2 || '/push/' || u, $3, $4 FROM unnest($1::int[]) u",
            users,
            push_url,
            P256DH,
            AUTH,
        )
        return users
    finally:
        await conn.close()


async def commit_event(user_id: int, space_id: int, location_id: int, booking_id: int) -> float:
    start = datetime(2031, 1, 1, 9, tzinfo=UTC) + timedelta(hours=booking_id % 5000)
    facts = BookingFacts(
        booking_id, space_id, location_id, user_id, start, start + timedelta(hours=1),
        "confirmed", 0, "EUR", None,
    )  # fmt: skip
    async with in_transaction() as conn:
        await emit_booking_event(conn, "booking.confirmed", facts)
    return time.time()


async def direct(push_url: str, users: list[int], concurrency: int, vapid_key: str) -> float:
    """pushes/s straight from pywebpush: no database, no JetStream."""
    from pywebpush import webpush_async

    vapid = load_vapid(vapid_key)
    guard = OutboundGuard(OutboundPolicy.for_env(production=False))
    queue = list(users)
    payload = json.dumps({"type": "booking.confirmed", "title": "Booking confirmed", "body": "x"})
    async with guarded_session(guard, limit=concurrency, timeout=10) as session:

        async def one() -> None:
            while queue:
                user = queue.pop()
                await webpush_async(
                    {"endpoint": f"{push_url}/push/{user}", "keys": {"p256dh": P256DH, "auth": AUTH}},
                    data=payload, vapid_private_key=vapid, vapid_claims={"sub": "mailto:bench@cowork.test"},
                    ttl=60, headers={"Urgency": "normal"}, aiohttp_session=session,
                )  # fmt: skip

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return len(users) / (time.perf_counter() - t0)


async def run(args: argparse.Namespace, s: Stack, receiver_: Receiver) -> None:
    push_url = f"http://127.0.0.1:{receiver_.port}"
    vapid_key = generate_private_key()
    settings = Settings(
        env=Environment.TEST,  # the push service is on loopback
        database_url=s.database_url,
        nats_url=s.nats_url,
        jwt_secret=JWT_SECRET,
        node_id="bench",
        db_pool_size=20,
        notify=NotifySettings(
            vapid_private_key=vapid_key, consumer="bench-notify", concurrency=args.concurrency
        ),
    )
    location, spaces, _ = await seed(s.database_url, 1, 0)
    await init_orm(settings)
    bus = Bus(s.nats_url, "bench")
    await bus.connect()
    await ensure_stream(bus.js, settings)
    relay = OutboxRelay(bus, settings, Metrics())
    worker = DeliveryWorker(settings, SystemClock(), bus, Metrics())
    try:
        floor_users = await seed_members(s.database_url, push_url, 1, args.events)
        floor = await direct(push_url, floor_users, args.concurrency, vapid_key)
        receiver_.ask("take")
        print(f"direct pywebpush: {floor:,.0f} pushes/s")

        users = await seed_members(s.database_url, push_url, 10**6, args.events)
        for i, user in enumerate(users):
            await commit_event(user, spaces[0], location, i + 1)
        # The durable must exist before the events reach the stream (it starts with new ones);
        # the backlog is published first, so the round times the worker alone.
        await bus.js.add_consumer(STREAM, consumer_config(settings))
        t0 = time.perf_counter()
        await relay.drain()
        published = time.perf_counter() - t0
        print(f"relay: {args.events} events published in {published:.2f}s (both subjects)")
        t0 = time.perf_counter()
        await worker.start()
        await receiver_.wait_for(args.events)
        rate = args.events / (time.perf_counter() - t0)
        receiver_.ask("take")
        print(f"worker: {args.events} pushes in {args.events / rate:.2f}s = {rate:,.0f}/s")
        await relay.start()

        n = int(args.rate * args.seconds)
        users = await seed_members(s.database_url, push_url, 2 * 10**6, n)
        at_stream: dict[int, float] = {}

        async def seen(msg: Any) -> None:
            at_stream[int(msg.subject.split(".")[2])] = time.time()

        sub = await bus.nc.subscribe("cowork.user.>", cb=seen)
        committed: dict[int, float] = {}
        t_start = time.perf_counter()
        for i, user in enumerate(users):
            due = t_start + i / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            committed[user] = await commit_event(user, spaces[0], location, 10**6 + i)
            relay.wake()
        await receiver_.wait_for(n)
        arrivals = receiver_.ask("take")
        await sub.unsubscribe()
        to_push = [(arrivals[f"/push/{u}"] - committed[u]) * 1000 for u in users]
        to_stream = [(at_stream[u] - committed[u]) * 1000 for u in users if u in at_stream]
        added = [(arrivals[f"/push/{u}"] - at_stream[u]) * 1000 for u in users if u in at_stream]
        for name, values in (
            ("commit → JetStream", to_stream),
            ("commit → push request", to_push),
            ("added by the worker", added),
        ):
            print(f"{name}: p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms")
        print(f"({n} events at {args.rate}/s; worker/direct throughput {rate / floor:.2f}x)")
    finally:
        await worker.stop()
        await relay.stop()
        await bus.close()
        await close_orm()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    receiver_ = Receiver()
    try:
        with stack() as s:  # starts its own event loops: outside ours
            asyncio.run(run(args, s, receiver_))
    finally:
        receiver_.stop()


if __name__ == "__main__":
    main()
