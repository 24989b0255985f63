"""Analytics endpoints over 1,000,000 bookings in 20 locations, with the plans of their queries.

    .venv/bin/python -m bench.analytics [--bookings 1000000] [--runs 5] [--no-append]

Generates the data set with SQL generate_series (each space's slots never overlap, so the
exclusion constraint holds), starts one production-mode node, times each endpoint (median of
`--runs`), prints EXPLAIN ANALYZE of every query the analytics store runs, and appends the
results to docs/benchmarks.md under "Analytics".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import JWT_SECRET, node, stack
from cowork.accounts.tokens import Principal, Role, TokenKind, issue

LOCATIONS = 20
SPACES_PER_LOCATION = 50
SLOT_HOURS = 9  # one booking per space every 9 hours: 1..3 h long, so never overlapping
ZONES = [
    ("Europe/Rome", "EUR"),
    ("Europe/London", "GBP"),
    ("America/New_York", "USD"),
    ("Asia/Tokyo", "JPY"),
    ("Australia/Sydney", "AUD"),
]
TYPES = ["desk", "desk", "desk", "meeting_room", "private_office", "phone_booth", "event_space"]
HOURS = {d: [["07:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [["09:00", "13:00"]]
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


async def generate(url: str, bookings: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        for n in range(LOCATIONS):
            tz, currency = ZONES[n % len(ZONES)]
            await conn.execute(
                "INSERT INTO locations (name, city, address, timezone, currency, description,"
                " opening_hours, cancellation_policy, booking_rules, floors, active, created_at,"
                " updated_at) VALUES ($1, $2, 'Bench street 1', $3, $4, '', $5, '[]', '{}', '[]',"
                " true, now(), now())",
                f"Bench {n}", tz.split("/")[1], tz, currency, json.dumps(HOURS),
            )  # fmt: skip
        await conn.execute(
            "INSERT INTO closures (location_id, start_date, end_date, reason, created_at)"
            " SELECT id, current_date - 40, current_date - 38, 'works', now() FROM locations"
        )
        await conn.execute(
            "INSERT INTO spaces (location_id, name, type, capacity, hourly_price_cents,"
            " description, floor, x, y, width, height, active, created_at, updated_at)"
            " SELECT l.id, 'S' || g, ($1::text[])[1 + g % $2], 1, 500 + 100 * (g % 5), '',"
            " 0, 0, 0, 1, 1, true, now(), now()"
            " FROM locations l, generate_series(0, $3 - 1) g",
            TYPES, len(TYPES), SPACES_PER_LOCATION,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO users (email, password_hash, name, role, is_active, created_at,"
            " updated_at) SELECT 'm' || g || '@bench.test', '!', 'Member ' || g, 'member', true,"
            " now(), now() FROM generate_series(1, 2000) g"
        )
        admin = await conn.fetchval(
            "INSERT INTO users (email, password_hash, name, role, is_active, created_at,"
            " updated_at) VALUES ('admin@bench.test', '!', 'Admin', 'admin', true, now(), now())"
            " RETURNING id"
        )
        per_space = bookings // (LOCATIONS * SPACES_PER_LOCATION)
        # Slot k of a space starts at origin + k * 9 h (+ the space's own offset); about 80 %
        # of the slots are past. Past: completed 75 %, cancelled 10 %, no-show 6 %, expired 9 %;
        # future: confirmed (with the timer's no-show deadline) or cancelled.
        await conn.execute(
            "INSERT INTO bookings (space_id, location_id, user_id, starts_at, ends_at, status,"
            " price_cents, currency, deadline_at, created_at, updated_at)"
            " SELECT s.id, s.location_id, 1 + (s.id * 7919 + k) % 2000, st,"
            "  st + make_interval(hours => 1 + (s.id + k) % 3), status,"
            "  s.hourly_price_cents * (1 + (s.id + k) % 3), l.currency,"
            "  CASE WHEN status = 'confirmed' THEN st + interval '15 minutes' END,"
            "  st - make_interval(hours => (s.id * 31 + k * 17) % 240),"
            "  st - make_interval(hours => (s.id * 31 + k * 17) % 240)"
            " FROM spaces s JOIN locations l ON l.id = s.location_id,"
            " generate_series(0, $1 - 1) k,"
            " LATERAL (SELECT date_trunc('hour', now()) - make_interval(hours => $2 * $1 * 8 / 10)"
            "   + make_interval(hours => $2 * k + s.id % 5) AS st) t,"
            " LATERAL (SELECT CASE WHEN st > now() THEN"
            "     CASE WHEN (s.id + k) % 10 = 0 THEN 'cancelled' ELSE 'confirmed' END"
            "   ELSE CASE (s.id * 13 + k) % 100 / 5 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'no_show'"
            "     WHEN 2 THEN 'expired' WHEN 3 THEN CASE WHEN k % 2 = 0 THEN 'cancelled'"
            "     ELSE 'no_show' END ELSE 'completed' END END AS status) z",
            per_space, SLOT_HOURS,
        )  # fmt: skip
        # Every booking that was ever confirmed was paid; cancelled ones got a refund.
        await conn.execute(
            "INSERT INTO payments (booking_id, user_id, stripe_payment_intent_id, amount_cents,"
            " refunded_cents, currency, status, created_at, updated_at)"
            " SELECT id, user_id, 'pi_' || id, price_cents,"
            "  CASE WHEN status = 'cancelled' THEN price_cents ELSE 0 END, currency,"
            "  CASE WHEN status = 'cancelled' THEN 'refunded' ELSE 'succeeded' END,"
            "  created_at + interval '2 minutes', created_at + interval '2 minutes'"
            " FROM bookings WHERE status <> 'expired'"
        )
        await conn.execute(
            "INSERT INTO refunds (payment_id, stripe_refund_id, amount_cents, reason, status,"
            " created_at) SELECT p.id, 're_' || p.id, p.amount_cents, 'cancelled', 'succeeded',"
            " b.created_at + (least(b.starts_at, now()) - b.created_at) / 2 FROM payments p"
            " JOIN bookings b ON b.id = p.booking_id WHERE p.status = 'refunded'"
        )
        await conn.execute(
            "INSERT INTO audit_log (actor_id, action, entity, entity_id, location_id, before,"
            " after) SELECT $1, 'update', 'space', s.id::text, s.location_id,"
            " '{\"capacity\": 1}', '{\"capacity\": 2}' FROM spaces s, generate_series(1, 20)",
            admin,
        )  # fmt: skip
        await conn.execute("VACUUM ANALYZE")
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("bookings", "payments", "refunds", "spaces", "audit_log")
        }
        return {
            "admin": admin,
            "counts": counts,
            "seconds": time.perf_counter() - started,
            "locations": [r["id"] for r in await conn.fetch("SELECT id FROM locations")],
        }
    finally:
        await conn.close()


def token(user_id: int) -> str:
    principal = Principal(user_id, Role.ADMIN)
    return issue(JWT_SECRET, principal, TokenKind.ACCESS, 3600, now=datetime.now(UTC))


def requests(location: int) -> list[tuple[str, str, dict[str, Any]]]:
    today = date.today()
    month = {"from": str(today - timedelta(days=29)), "to": str(today)}
    quarter = {"from": str(today - timedelta(days=89)), "to": str(today)}
    year = {"from": str(today - timedelta(days=365)), "to": str(today)}
    one = {"location_id": location}
    week = {**one, "status": "completed", "from": str(today - timedelta(days=6)), "to": str(today)}
    return [
        ("overview, 20 locations, 30 days", "/api/v1/analytics/overview", month),
        ("overview, 20 locations, 90 days", "/api/v1/analytics/overview", quarter),
        ("overview, 20 locations, 366 days", "/api/v1/analytics/overview", year),
        ("overview, 1 location, 366 days", "/api/v1/analytics/overview", {**year, **one}),
        ("bookings, 20 locations, 30 days", "/api/v1/analytics/bookings", month),
        ("bookings, 20 locations, 366 days", "/api/v1/analytics/bookings", year),
        ("bookings, 1 location, 366 days", "/api/v1/analytics/bookings", {**year, **one}),
        ("performance", "/api/v1/analytics/performance", {}),
        ("manage/dashboard, 20 locations", "/api/v1/manage/dashboard", {}),
        ("manage/bookings, first page", "/api/v1/manage/bookings", {}),
        ("manage/bookings, 1 location, 7 days, completed", "/api/v1/manage/bookings", week),
        ("admin/expiries", "/api/v1/admin/expiries", {}),
        ("admin/audit, 1 location", "/api/v1/admin/audit", one),
        ("baseline: /healthz", "/healthz", {}),
    ]


async def time_endpoints(url: str, admin: int, location: int, runs: int) -> list[tuple[str, float]]:
    headers = {"Authorization": f"Bearer {token(admin)}"}
    out: list[tuple[str, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
        for name, path, params in requests(location):
            samples = []
            for _ in range(runs + 1):  # the first run warms caches and is dropped
                t0 = time.perf_counter()
                r = await http.get(path, params=params)
                samples.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            out.append((name, statistics.median(samples[1:])))
    return out


async def baseline_scan(url: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        samples = []
        for _ in range(4):
            t0 = time.perf_counter()
            await conn.fetchval("SELECT count(*) FROM bookings")
            samples.append((time.perf_counter() - t0) * 1000)
        return statistics.median(samples[1:])
    finally:
        await conn.close()


class Explainer:
    """Stands in for the store's connection: runs EXPLAIN ANALYZE of each query it is sent."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.plans: list[tuple[str, str]] = []
        self._turn = asyncio.Lock()  # one connection: queries the store runs at once take turns

    def _in_transaction(self) -> Explainer:
        return self

    async def __aenter__(self) -> Explainer:
        await self._turn.acquire()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._turn.release()

    async def execute_query(self, sql: str, params: list[Any] | None = None) -> None:
        await self.conn.execute(sql.replace("SET LOCAL", "SET"), *(params or []))

    async def execute_query_dict(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *params)
        self.plans.append((sql, "\n".join(r[0] for r in rows)))
        return [dict(r) for r in await self.conn.fetch(sql, *params)]


async def explain(url: str, location_ids: list[int]) -> list[tuple[str, str]]:
    """Plans of the overview and bookings queries, 20 locations, the last 366 days."""
    from cowork.domain.occupancy import Period, local_day, local_month, open_time
    from cowork.store import analytics as store
    from cowork.store import deadlines

    conn = await asyncpg.connect(url)
    explainer = Explainer(conn)
    store.db = lambda: explainer  # type: ignore[assignment,return-value]
    deadlines.db = lambda: explainer  # type: ignore[assignment,return-value]
    try:
        infos = await store.locations(location_ids)
        today = date.today()
        period = Period(today - timedelta(days=365), today)
        bounds = [(i.id, period.bounds(i.tz)) for i in infos]
        explainer.plans.clear()
        await store.booking_figures(bounds)
        await store.booked_seconds(
            [(i.id, s) for i in infos for s in open_time(period, i.tz, i.hours, i.closures)]
        )
        await store.money(bounds)
        await store.hourly_starts(bounds, [i.timezone for i in infos])
        now = datetime.now(UTC)
        await deadlines.deadline_summary(now)
        # The dashboard's queries.
        ids = [i.id for i in infos]
        await store.space_states(ids, now)
        await store.live_counts(
            ids, now, now + timedelta(hours=2), [(i.id, local_day(now, i.tz)) for i in infos]
        )
        await store.money([(i.id, local_month(now, i.tz)) for i in infos])
        await store.arrivals(ids, now, now + timedelta(hours=2))
        return explainer.plans
    finally:
        await conn.close()


def report(meta: dict[str, Any], timings: list[tuple[str, float]], scan_ms: float,
           plans: list[tuple[str, str]]) -> str:  # fmt: skip
    lines = [
        "",
        "## Analytics",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}, embedded PostgreSQL; `python -m bench.analytics`.",
        f"Data: {meta['counts']['bookings']:,} bookings, {meta['counts']['payments']:,} payments,"
        f" {meta['counts']['refunds']:,} refunds, {meta['counts']['audit_log']:,} audit entries,"
        f" {LOCATIONS} locations in {len(ZONES)} time zones, {meta['counts']['spaces']} spaces"
        f" (generated in {meta['seconds']:.0f} s).",
        f"Baseline in the same session: `SELECT count(*) FROM bookings` = {scan_ms:.1f} ms.",
        "",
        "| request (admin, one node, median of runs) | ms | ratio to the count(*) scan |",
        "|---|---:|---:|",
        *[f"| {name} | {ms:.1f} | {ms / scan_ms:.2f} |" for name, ms in timings],
        "",
        "<details><summary>EXPLAIN ANALYZE, overview and bookings, 20 locations, 366 days"
        "</summary>",
        "",
    ]
    for sql, plan in plans:
        lines += ["```sql", sql, "```", "```", plan, "```", ""]
    lines += ["</details>", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    with stack() as s:
        meta = asyncio.run(generate(s.database_url, args.bookings))
        print(f"generated {meta['counts']} in {meta['seconds']:.0f} s")
        scan_ms = asyncio.run(baseline_scan(s.database_url))
        with node(s, "bench-analytics") as url:
            timings = asyncio.run(time_endpoints(url, meta["admin"], meta["locations"][0],
                                                 args.runs))  # fmt: skip
        for name, ms in timings:
            print(f"{name}: {ms:.1f} ms", flush=True)
        plans = asyncio.run(explain(s.database_url, meta["locations"]))
    text = report(meta, timings, scan_ms, plans)
    print(text)
    if not args.no_append:
        if not DOCS.exists():
            DOCS.write_text("# Benchmarks\n")
        with DOCS.open("a") as out:
            out.write(text)


if __name__ == "__main__":
    main()
