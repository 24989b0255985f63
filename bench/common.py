"""Shared benchmark plumbing: an embedded stack, a migrated database, server processes, a
load loop that reports throughput and latency percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from cowork.config import Environment, Settings
from cowork.devstack import EmbeddedPostgres, free_port, start_nats, wait_http_ok

JWT_SECRET = "bench-secret-" + "z" * 32


@dataclass
class Stack:
    database_url: str
    admin_url: str
    nats_url: str
    root: Path


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="cowork-bench-"))
    root.chmod(0o755)
    pg = EmbeddedPostgres(root / "pgdata")
    nats = None
    try:
        admin = os.environ.get("DATABASE_URL") or pg.start()
        nats_url = os.environ.get("NATS_URL", "")
        if not nats_url:
            nats, nats_url = start_nats(root / "run", root / "nats")
        db_url = asyncio.run(_fresh_database(admin))
        yield Stack(db_url, admin, nats_url, root)
    finally:
        if nats is not None:
            nats.stop()
        pg.stop()


async def _fresh_database(admin_url: str) -> str:
    from tortoise import Tortoise

    from cowork.store.db import migrate

    conn = await asyncpg.connect(admin_url)
    await conn.execute("DROP DATABASE IF EXISTS bench WITH (FORCE)")
    await conn.execute("CREATE DATABASE bench")
    await conn.close()
    head, sep, query = admin_url.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/bench{sep}{query}"
    await migrate(Settings(env=Environment.TEST, database_url=url, jwt_secret=JWT_SECRET))
    await Tortoise.close_connections()
    return url


@contextlib.contextmanager
def node(
    s: Stack, node_id: str, port: int | None = None, cwd: Path | None = None, **env: str
) -> Iterator[str]:
    """A `cowork serve` process; `cwd`: run another checkout's code (a baseline)."""
    import subprocess

    port = port or free_port()
    environ = {
        **os.environ,
        "COWORK_ENV": "production",
        "DATABASE_URL": s.database_url,
        "NATS_URL": s.nats_url,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "COWORK_NODE_ID": node_id,
        "COWORK_LOG_FORMAT": "text",
        **env,
    }
    log = (s.root / f"{node_id}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cowork", "serve"],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_http_ok(f"{url}/readyz", alive=lambda: proc.poll() is None):
            raise RuntimeError(f"{node_id} did not start; see {s.root}/{node_id}.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            import signal

            proc.send_signal(signal.SIGUSR1)  # the node prints its asyncio tasks to its log
            time.sleep(1)
            proc.kill()
            raise RuntimeError(f"{node_id} did not stop; see {s.root}/{node_id}.log") from None


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name}: {self.requests} req in {self.seconds:.2f}s = {self.rate:,.0f}/s, "
            f"p50 {self.pct(0.50):.2f} ms, p99 {self.pct(0.99):.2f} ms, "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


async def load(name: str, jobs: list[Callable[[], Awaitable[int]]], concurrency: int) -> Result:
    """Run the jobs with `concurrency` workers; each job returns an HTTP status."""
    queue: asyncio.Queue[Callable[[], Awaitable[int]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            t0 = time.perf_counter()
            status = await job()
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, len(jobs), time.perf_counter() - started, latencies, statuses)


def median(values: list[float]) -> float:
    return statistics.median(values)


async def seed(url: str, spaces: int, users: int) -> tuple[int, list[int], list[int]]:
    conn = await asyncpg.connect(url)
    always = (
        '{"mon":[["00:00","24:00"]],"tue":[["00:00","24:00"]],"wed":[["00:00","24:00"]],'
        '"thu":[["00:00","24:00"]],"fri":[["00:00","24:00"]],"sat":[["00:00","24:00"]],'
        '"sun":[["00:00","24:00"]]}'
    )
    loc = await conn.fetchval(
        "INSERT INTO locations (name, city, address, timezone, currency, description, "
        "opening_hours, cancellation_policy, booking_rules, floors, active, created_at, "
        "updated_at) VALUES ('Bench', 'Milan', 'Via 1', 'Europe/Rome', 'EUR', '', $1, '[]', "
        "'{}', '[]', true, now(), now()) RETURNING id",
        always,
    )
    space_ids = [
        await conn.fetchval(
            "INSERT INTO spaces (location_id, name, type, capacity, hourly_price_cents, description,"
            " floor, x, y, width, height, active, created_at, updated_at) VALUES ($1, $2, 'desk', 1,"
            " 1000, '', 0, 0, 0, 1, 1, true, now(), now()) RETURNING id",
            loc,
            f"D{i}",
        )
        for i in range(spaces)
    ]
    user_ids = [
        await conn.fetchval(
            "INSERT INTO users (email, password_hash, name, role, is_active, created_at, updated_at)"
            " VALUES ($1, '!', 'Bench', 'member', true, now(), now()) RETURNING id",
            f"bench{i}@example.com",
        )
        for i in range(users)
    ]
    await conn.close()
    return loc, space_ids, user_ids


Job = Callable[[], Awaitable[int]]


def hold_job(http: Any, url: str, space: int, start: Any, headers: dict[str, str]) -> Job:
    """POST one one-hour hold; the job returns the HTTP status."""
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}

    async def run() -> int:
        async with http.post(
            f"{url}/api/v1/spaces/{space}/bookings", json=body, headers=headers
        ) as r:
            await r.read()
            return int(r.status)

    return run


def availability_job(http: Any, url: str, space: int, start: Any, span: timedelta) -> Job:
    """GET a space's availability over [start, start + span)."""
    params = {"from": start.isoformat(), "to": (start + span).isoformat()}

    async def run() -> int:
        async with http.get(f"{url}/api/v1/spaces/{space}/availability", params=params) as r:
            await r.read()
            return int(r.status)

    return run
