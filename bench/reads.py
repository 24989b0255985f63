"""Reads against the node's own /healthz, driven by wrk: availability from actor memory with
0, 200 and 1,000 bookings in the window, revalidation (304), the floor snapshot, catalogue.

    .venv/bin/python -m bench.reads [--spaces 50] [--seconds 10] [--connections 32]
        [--repeat 2] [--profile PATH]

Needs wrk (Debian: `apt-get install -y wrk`); without it, prints how to get it and exits 0.
One `python -m cowork serve` node (production settings) on an embedded PostgreSQL and NATS;
every phase is a ratio to /healthz measured in the same round, just before and just after it
(the mean of the two: the host is shared and its load moves within a minute). `--profile` samples the node
with py-spy during the availability phase (collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg

from bench import wrk
from bench.common import node, stack
from bench.realtime import node_pid, start_profile

WINDOW = timedelta(hours=48)
GROUPS = (0, 200, 1000)  # bookings inside the window, per space


async def seed(url: str, spaces: int, start: datetime) -> tuple[int, dict[int, list[int]]]:
    """A location open around the clock; `spaces` spaces per group of GROUPS, their bookings
    spread evenly over the window (confirmed, half the time busy, never overlapping)."""
    from bench.common import seed as seed_location

    loc, _, users = await seed_location(url, 0, 1)
    conn = await asyncpg.connect(url)
    groups: dict[int, list[int]] = {}
    try:
        for n in GROUPS:
            groups[n] = [
                await conn.fetchval(
                    "INSERT INTO spaces (location_id, name, type, capacity, hourly_price_cents,"
                    " description, floor, x, y, width, height, active, created_at, updated_at)"
                    " VALUES ($1, $2, 'desk', 1, 1000, '', 0, $3, 0, 1, 1, true, now(), now())"
                    " RETURNING id",
                    loc,
                    f"B{n}-{i}",
                    i,
                )
                for i in range(spaces)
            ]
            if n:
                step = WINDOW / n
                await conn.execute(
                    "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at,"
                    " status, price_cents, currency, created_at, updated_at)"
                    " SELECT s, $2, $3, $4::timestamptz + k * $5::interval,"
                    " $4::timestamptz + k * $5::interval + $5::interval / 2, 'confirmed', 0, 'EUR',"
                    " now(), now() FROM unnest($1::int[]) s, generate_series(0, $6 - 1) k",
                    groups[n], loc, users[0], start, step, n,
                )  # fmt: skip
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return loc, groups


def phases(loc: int, groups: dict[int, list[int]], start: datetime) -> list[tuple[str, list[str]]]:
    query = urlencode({"from": start.isoformat(), "to": (start + WINDOW).isoformat()})
    out = [("GET /healthz", ["/healthz"])]
    for n, ids in groups.items():
        paths = [f"/api/v1/spaces/{i}/availability?{query}" for i in ids]
        out.append((f"availability, {n} bookings in the 48 h window", paths))
    spaces = [i for ids in groups.values() for i in ids]
    out += [
        ("availability, 1000 bookings, If-None-Match (304)", []),  # filled in by etags()
        ("floor snapshot (150 spaces)", [f"/api/v1/locations/{loc}/floor"]),
        ("catalogue: GET /spaces/{id}", [f"/api/v1/spaces/{i}" for i in spaces]),
        ("catalogue: GET /locations/{id}/spaces", [f"/api/v1/locations/{loc}/spaces?limit=50"]),
    ]
    return out


def warm(url: str, paths: list[str]) -> list[str]:
    """GET every path once (starts the actors, fills the caches); their ETags."""
    tags = []
    for path in paths:
        with urllib.request.urlopen(url + path, timeout=30) as r:
            tags.append(r.headers.get("etag", ""))
    return tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, default=50, help="spaces per bookings group")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", metavar="PATH", help="py-spy output (collapsed stacks)")
    parser.add_argument("--profile-phase", default="availability, 1000 b", help="name prefix")
    args = parser.parse_args()
    if not wrk.available():
        print(wrk.INSTALL)
        return
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    start = start.replace(microsecond=0)
    with stack() as s:
        loc, groups = asyncio.run(seed(s.database_url, args.spaces, start))
        with node(s, "reads-1") as url:
            plan = phases(loc, groups, start)
            for name, paths in plan:
                tags = warm(url, paths)
                if name.startswith("availability, 1000") and "(304)" not in name:
                    revalidate = [
                        f"{p}\tIf-None-Match: {t}" for p, t in zip(paths, tags, strict=True)
                    ]
            plan = [(n, p or revalidate) for n, p in plan]
            health = ("GET /healthz", ["/healthz"])
            for round_ in range(1, args.repeat + 1):
                print(f"round {round_}, load average {os.getloadavg()}", flush=True)
                before = measure(url, health, args)
                print("  " + before.line(), flush=True)
                for name, paths in plan[1:]:
                    if args.profile and name.startswith(args.profile_phase):
                        start_profile(args.profile, node_pid(int(url.rsplit(":", 1)[1])),
                                      args.seconds)  # fmt: skip
                        args.profile = None
                    result = measure(url, (name, paths), args)
                    after = measure(url, health, args)
                    # The host is shared: the baseline is /healthz just before and just after.
                    base = (before.rate + after.rate) / 2
                    print(f"  {result.line(base)} (healthz {before.rate:,.0f} → {after.rate:,.0f})",
                          flush=True)  # fmt: skip
                    before = after


def measure(url: str, phase: tuple[str, list[str]], args: argparse.Namespace) -> wrk.WrkResult:
    name, paths = phase
    return wrk.run(name, url, paths, seconds=args.seconds, connections=args.connections)


if __name__ == "__main__":
    main()
