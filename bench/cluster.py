"""Holds and availability reads through HAProxy with 1, 2 and 3 nodes, beside one node alone.

    .venv/bin/python -m bench.cluster [--spaces 60] [--slots 20] [--concurrency 48]

Every configuration gets a fresh set of slots on the same spaces, so each hold is accepted
(201) and written to PostgreSQL. Prints one line per measurement and the ratios that
docs/benchmarks.md reports ("Cluster"). On a 2-core machine the nodes, HAProxy, PostgreSQL,
NATS and this load generator share the cores: the curve flattens early.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx

from bench.booking import seed, token
from bench.common import Job, Result, Stack, availability_job, hold_job, load, node, stack
from cowork.cluster.haproxy import Server, haproxy_argv, haproxy_env, servers_cfg
from cowork.config import Settings
from cowork.devstack import free_port, wait_for_port, wait_http_ok


@contextlib.contextmanager
def haproxy(urls: list[str], root: Path) -> Iterator[str]:
    """The repository's haproxy.cfg in front of `urls`, once every node is up."""
    servers = [
        Server(f"node-{i}", "127.0.0.1", int(u.rsplit(":", 1)[1])) for i, u in enumerate(urls, 1)
    ]
    port, stats = free_port(), free_port()
    cfg = root / f"servers-{port}.cfg"
    cfg.write_text(servers_cfg(servers))
    log = (root / f"haproxy-{port}.log").open("ab")
    proc = subprocess.Popen(
        haproxy_argv(Settings.read(os.environ), cfg),
        env=haproxy_env(os.environ, port, stats, login_rate=10_000),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(stats)
        url = f"http://127.0.0.1:{port}"
        # Every node must answer through the proxy before the clock starts.
        if not wait_http_ok(f"{url}/readyz", alive=lambda: proc.poll() is None):
            raise RuntimeError(f"haproxy did not start; see {root}")
        deadline = time.monotonic() + 30
        seen: set[str] = set()
        while len(seen) < len(urls) and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                seen.add(httpx.get(f"{url}/healthz", timeout=2).json()["node_id"])
        if len(seen) < len(urls):
            raise RuntimeError(f"haproxy sees {sorted(seen)} of {len(urls)} nodes; see {root}")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


async def measure(
    name: str,
    url: str,
    space_ids: list[int],
    user_ids: list[int],
    day: int,
    slots: int,
    concurrency: int,
) -> tuple[Result, Result]:
    base = (datetime.now(UTC) + timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
    headers = [{"Authorization": f"Bearer {token(u)}"} for u in user_ids]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        def hold(i: int, space: int, n: int) -> Job:
            return hold_job(http, url, space, base + timedelta(hours=n), headers[i % len(headers)])

        def avail(space: int) -> Job:
            return availability_job(http, url, space, base, timedelta(days=1))

        work = [(s, n) for n in range(slots) for s in space_ids]
        await load("warm-up", [avail(s) for s in space_ids], concurrency)
        holds = await load(
            f"{name}: holds (201)", [hold(i, s, n) for i, (s, n) in enumerate(work)], concurrency
        )
        reads = await load(
            f"{name}: availability reads (200)",
            [avail(space_ids[i % len(space_ids)]) for i in range(len(work) * 2)],
            concurrency,
        )
    return holds, reads


def run_config(s: Stack, nodes: int, proxied: bool, args, ids, day: int) -> tuple[Result, Result]:
    space_ids, user_ids = ids
    name = f"{nodes} node(s) behind HAProxy" if proxied else "1 node, no HAProxy"
    with contextlib.ExitStack() as running:
        env = {"COWORK_PROXIES_COUNT": "1"} if proxied else {}
        urls = [running.enter_context(node(s, f"bench-{i}", **env)) for i in range(1, nodes + 1)]
        url = running.enter_context(haproxy(urls, s.root)) if proxied else urls[0]
        return asyncio.run(
            measure(name, url, space_ids, user_ids, day, args.slots, args.concurrency)
        )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spaces", type=int, default=60)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--max-nodes", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack's processes on SIGTERM too
    results: list[tuple[Result, Result]] = []
    with stack() as s:
        _, space_ids, user_ids = asyncio.run(seed(s.database_url, args.spaces, 20))
        ids = (space_ids, user_ids)
        days = args.slots // 24 + 2  # each configuration books its own, untouched days
        results.append(run_config(s, 1, False, args, ids, day=1))
        for n in range(1, args.max_nodes + 1):
            results.append(run_config(s, n, True, args, ids, day=1 + n * days))
    for holds, reads in results:
        print(holds.line())
        print(reads.line())
    base_holds, base_reads = results[0]
    print("ratios against one node without HAProxy (throughput; p99):")
    for holds, reads in results[1:]:
        print(
            f"  {holds.name.split(':')[0]}: holds {holds.rate / base_holds.rate:.2f}x "
            f"(p99 {holds.pct(0.99) / base_holds.pct(0.99):.2f}x), "
            f"reads {reads.rate / base_reads.rate:.2f}x (p99 {reads.pct(0.99) / base_reads.pct(0.99):.2f}x)"
        )


if __name__ == "__main__":
    main()
