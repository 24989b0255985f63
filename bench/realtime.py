"""Realtime benchmark: outbox → relay → JetStream → hub → N SSE clients, on the embedded stack.

    .venv/bin/python bench/realtime.py --clients 100 --events 2000

Reports the relay's publish rate, and commit-to-client latency (from each envelope's `at`,
the outbox insert time) at p50/p95/p99 across every client. DATABASE_URL / NATS_URL, when set,
point it at existing servers (the database must be migrated and disposable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tortoise.transactions import in_transaction

from cowork.app import create_app
from cowork.config import Environment, Settings
from cowork.devstack import embedded_stack, free_port
from cowork.store.db import migrate
from cowork.store.events import BookingFacts, emit_booking_event
from cowork.store.models import Location, Space, User


class Arrivals:
    """Counts clients whose stream is open; `all_in` is set when every one is."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.count = 0
        self.all_in = asyncio.Event()

    def arrived(self) -> None:
        self.count += 1
        if self.count == self.clients:
            self.all_in.set()


async def sse_client(url: str, expected: int, latencies: list[float], arrivals: Arrivals) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as http,
        http.stream("GET", url) as response,
    ):
        got = 0
        async for line in response.aiter_lines():
            if line.startswith(": connected"):
                arrivals.arrived()
            if line.startswith("data: "):
                body = json.loads(line[6:])
                at = datetime.fromisoformat(body["at"])
                latencies.append((datetime.now(UTC) - at).total_seconds())
                got += 1
                if got == expected:
                    return


async def run(settings: Settings, clients: int, events: int) -> None:
    app = create_app(settings)
    srv = await app.create_server(
        host="127.0.0.1", port=settings.port, return_asyncio_server=True, access_log=False
    )
    assert srv is not None
    await srv.startup()
    await srv.before_start()
    await srv.after_start()
    try:
        loc = await Location.create(
            name="Bench",
            city="Milan",
            address="Via 1",
            timezone="Europe/Rome",
            currency="EUR",
            opening_hours={},
            cancellation_policy=[],
            booking_rules={},
            floors=[],
        )
        space = await Space.create(location=loc, name="Desk", type="desk")
        user = await User.create(email="bench@example.com", password_hash="!", name="Bench")
        url = f"http://127.0.0.1:{settings.port}/api/v1/streams/locations/{loc.id}"
        latencies: list[float] = []
        arrivals = Arrivals(clients)
        tasks = [
            asyncio.create_task(sse_client(url, events, latencies, arrivals))
            for _ in range(clients)
        ]
        await asyncio.wait_for(arrivals.all_in.wait(), timeout=60)
        start = datetime(2031, 1, 1, tzinfo=UTC)
        began = time.perf_counter()
        for i in range(events):
            facts = BookingFacts(
                i + 1,
                space.id,
                loc.id,
                user.id,
                start + timedelta(hours=i),
                start + timedelta(hours=i + 1),
                "held",
                100,
                "EUR",
                None,
            )
            async with in_transaction() as conn:
                await emit_booking_event(conn, "booking.held", facts)
            app.ctx.relay.wake()
        written = time.perf_counter() - began
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
        total = time.perf_counter() - began
        lat = sorted(latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

        print(f"clients={clients} events={events} (x2 outbox rows: public + personal)")
        print(
            f"write {events / written:,.0f} changes/s; all delivered after {total:.2f}s "
            f"({events * clients / total:,.0f} client deliveries/s)"
        )
        print(
            f"relay published {app.ctx.relay.published} rows; hub delivered "
            f"{app.ctx.hub.delivered} events"
        )
        print(
            f"commit→client latency ms: p50 {pct(0.5):.1f}  p95 {pct(0.95):.1f}  "
            f"p99 {pct(0.99):.1f}  max {lat[-1] * 1000:.1f}  "
            f"mean {statistics.fmean(lat) * 1000:.1f}"
        )
    finally:
        await srv.before_stop()
        srv.close()
        await srv.wait_closed()
        await srv.after_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cowork-bench-") as tmp:
        Path(tmp).chmod(0o755)
        environ = {k: os.environ.get(k, "") for k in ("DATABASE_URL", "NATS_URL")}
        with embedded_stack(Path(tmp), environ=environ, stripe=False) as stack:
            env = {**environ, **{k: v for k, v in stack.env.items() if v}}
            settings = Settings(
                env=Environment.DEV,
                database_url=env["DATABASE_URL"],
                nats_url=env["NATS_URL"],
                jwt_secret="bench-" + "x" * 32,
                port=free_port(),
                log_json=False,
                client_queue_size=max(256, args.events * 2),
            ).checked()
            asyncio.run(bench(settings, args.clients, args.events))


async def bench(settings: Settings, clients: int, events: int) -> None:
    from tortoise import Tortoise

    await migrate(settings)
    await Tortoise.close_connections()
    await run(settings, clients, events)


if __name__ == "__main__":
    main()
