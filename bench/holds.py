"""Group commit (issue 17, targets 3 and 4): accepted holds against pgbench, in one run.

    .venv/bin/python -m bench.holds [--spaces 50] [--seconds 10] [--connections 32]
        [--hot-connections 256] [--pgbench-seconds 10] [--baseline-cwd /work/main]
        [--env KEY=VALUE ...] [--profile PATH]

Needs wrk (Debian: `apt-get install -y wrk`); without it, prints how to get it and exits 0.
One `python -m cowork serve` node (production settings) on an embedded PostgreSQL and NATS.
Phases, all on the same database:

1. pgbench, 8 clients (then 1): the transaction a hold writes (booking + two outbox rows + the
   notification, BEGIN … COMMIT), on random far-future slots of spaces of its own, no node
   running — the database's own rate (its outbox rows are then marked published);
2. holds on distinct slots of `--spaces` spaces, `--connections` wrk connections (target 3);
3. holds on distinct slots of one space, `--hot-connections` connections (target 4);
4. pgbench, 8 clients again, the node stopped (the host is shared: its load moves).

Accepted = 201 answers (every request is a distinct slot; wrk counts the rest as errors).
`--baseline-cwd DIR` runs phases 2 and 3 first against a node started from another checkout
(say main's), on spaces of their own: before and after in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench import wrk
from bench.booking import pgbench, token
from bench.common import Stack, node, seed, stack
from bench.realtime import cpu_seconds, node_pid, start_profile

HOT_SLOT = timedelta(minutes=15)


async def more_spaces(url: str, location: int, n: int, prefix: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [
            await conn.fetchval(
                "INSERT INTO spaces (location_id, name, type, capacity, hourly_price_cents,"
                " description, floor, x, y, width, height, active, created_at, updated_at)"
                " VALUES ($1, $2, 'desk', 1, 1000, '', 0, $3, 0, 1, 1, true, now(), now())"
                " RETURNING id",
                location,
                f"{prefix}{i}",
                i,
            )
            for i in range(n)
        ]
    finally:
        await conn.close()


async def book_far_ahead(url: str, location: int) -> None:
    """Ten years ahead may be booked, so every request of a phase can be a slot of its own."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE locations SET booking_rules = $2::jsonb WHERE id = $1",
            location,
            json.dumps({"max_days_ahead": 3650}),
        )
    finally:
        await conn.close()


def hold_lines(spaces: list[int], users: list[int], count: int, step: timedelta) -> list[str]:
    """`count` POSTs, round-robin over `spaces`, each a slot of its own, spread over users."""
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    bearer = [f"Authorization: Bearer {token(u)}" for u in users]
    lines = []
    for n in range(count):
        space, k = spaces[n % len(spaces)], n // len(spaces)
        start = base + k * step
        body = json.dumps({"start": start.isoformat(), "end": (start + step).isoformat()})
        head = f"POST /api/v1/spaces/{space}/bookings\t{bearer[n % len(bearer)]}"
        lines.append(f"{head}\tContent-Type: application/json\t{body}")
    return lines


def phases(
    url: str, spaces: list[int], hot: int, users: list[int], args: argparse.Namespace
) -> list[wrk.WrkResult]:
    budget = int(args.seconds * 6000)  # more lines than any phase can send: none repeats
    spread = hold_lines(spaces, users, budget, timedelta(hours=1))
    single = hold_lines([hot], users, budget, HOT_SLOT)
    profile(url, args, "spread")
    first = run(url, f"holds, {len(spaces)} spaces, {args.connections} conns", spread,
                args.connections, args.seconds)  # fmt: skip
    profile(url, args, "hot")
    second = run(url, f"holds, one space, {args.hot_connections} conns", single,
                 args.hot_connections, args.seconds)  # fmt: skip
    return [first, second]


def profile(url: str, args: argparse.Namespace, phase: str) -> None:
    """py-spy (PyPI) on the node through the next phase: `--profile PATH` → PATH.<phase>."""
    if args.profile:
        pid = node_pid(int(url.rsplit(":", 1)[1]))
        start_profile(f"{args.profile}.{phase}", pid, args.seconds)


async def caught_up(url: str, deadline: float = 60.0) -> None:
    """Wait (bounded) until the node's relay has published every event: a node stopped with
    a backlog spends its shutdown publishing it."""
    conn = await asyncpg.connect(url)
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while loop.time() < end:
            left = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if left == 0:
                return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def run(url: str, name: str, lines: list[str], conns: int, seconds: float) -> wrk.WrkResult:
    pid = node_pid(int(url.rsplit(":", 1)[1]))
    cpu, (rows, statements) = cpu_seconds(pid), batches(url)
    result = wrk.run(name, url, lines, seconds=seconds, connections=conns, distinct=True)
    accepted = accepted_rate(result, seconds)
    per_hold = (cpu_seconds(pid) - cpu) / max(1, result.requests - result.errors) * 1e6
    rows_after, statements_after = batches(url)
    grouped = (rows_after - rows) / max(1.0, statements_after - statements)
    print(f"  {result.line()}; accepted {accepted:,.0f}/s, node CPU {per_hold:,.0f} µs per "
          f"hold, {grouped:.1f} holds per statement, load {os.getloadavg()[0]:.1f}",
          flush=True)  # fmt: skip
    return result


def batches(url: str) -> tuple[float, float]:
    """New bookings written and statements that wrote them so far (0, 0: a node without
    group commit)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        text = r.read().decode()
    found = dict(re.findall(r"^cowork_booking_write_rows_(sum|count) ([\d.e+]+)$", text, re.M))
    return float(found.get("sum", 0)), float(found.get("count", 0))


def accepted_rate(result: wrk.WrkResult, seconds: float) -> float:
    return (result.requests - result.errors) / seconds


def database_rate(s: Stack, location: int, user: int, spaces: list[int], clients: int,
                  seconds: int) -> float:  # fmt: skip
    """pgbench on `spaces` (consecutive ids); its events are then marked as published, so
    the node's relay never spends the measured phases on them."""
    tps = pgbench(s, location, user, len(spaces), clients, seconds, first=spaces[0])
    asyncio.run(_mark_published(s.database_url))
    print(f"  pgbench, {clients} clients: {tps:,.0f} tps, load {os.getloadavg()[0]:.1f}",
          flush=True)  # fmt: skip
    return tps


async def _mark_published(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
    finally:
        await conn.close()


def measure(s: Stack, args: argparse.Namespace) -> None:
    location, spaces, users = asyncio.run(seed(s.database_url, args.spaces, 20))
    asyncio.run(book_far_ahead(s.database_url, location))
    hot = asyncio.run(more_spaces(s.database_url, location, 1, "H"))[0]
    theirs = asyncio.run(more_spaces(s.database_url, location, args.spaces, "P"))
    print(f"start, load average {os.getloadavg()}", flush=True)
    tps8 = database_rate(s, location, users[0], theirs, 8, args.pgbench_seconds)
    tps1 = database_rate(s, location, users[0], theirs, 1, args.pgbench_seconds)
    before: list[wrk.WrkResult] = []
    if args.baseline_cwd:
        old = asyncio.run(more_spaces(s.database_url, location, args.spaces + 1, "B"))
        with node(s, "holds-baseline", cwd=args.baseline_cwd) as url:
            print(f"baseline node from {args.baseline_cwd}:", flush=True)
            before = phases(url, old[:-1], old[-1], users, args)
            asyncio.run(caught_up(s.database_url))
    env = dict(kv.split("=", 1) for kv in args.env)
    with node(s, "holds-1", **env) as url:
        print("this checkout:", flush=True)
        spread, single = phases(url, spaces, hot, users, args)
        asyncio.run(caught_up(s.database_url))
    tps8_after = database_rate(s, location, users[0], theirs, 8, args.pgbench_seconds)
    base = (tps8 + tps8_after) / 2
    print(f"end, load average {os.getloadavg()}")
    rate, hot_rate = accepted_rate(spread, args.seconds), accepted_rate(single, args.seconds)
    print(f"target 3: accepted holds / pgbench(8) = {rate:,.0f} / {base:,.0f} = "
          f"{rate / base:.2f}  (÷ pgbench(1): {rate / tps1:.2f})")  # fmt: skip
    print(f"target 4: one space, {args.hot_connections} connections: {hot_rate:,.0f} "
          f"accepted/s (goal ≥ 2,000)")  # fmt: skip
    if before:
        old_spread, old_single = (accepted_rate(r, args.seconds) for r in before)
        print(f"baseline ({args.baseline_cwd}): {old_spread:,.0f}/s = {old_spread / base:.2f} x "
              f"pgbench(8); one space {old_single:,.0f}/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--hot-connections", type=int, default=256)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--baseline-cwd", type=Path, help="a checkout to run the baseline node")
    parser.add_argument("--profile", metavar="PATH", help="py-spy of the node: PATH.spread/.hot")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the node's environment (say COWORK_GROUP_COMMIT_INFLIGHT=0)",
    )
    args = parser.parse_args()
    if not wrk.available():
        print(wrk.INSTALL)
        return
    with stack() as s:
        measure(s, args)


if __name__ == "__main__":
    main()
