"""Analytics: booking and revenue figures per location over a local-date period, and node health.

Definitions of every figure: docs/analytics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.domain.occupancy import Period
from cowork.domain.problems import Problem
from cowork.domain.schedule import WEEKDAY_KEYS
from cowork.http.auth import require_role
from cowork.http.context import services
from cowork.http.docs import Out, doc
from cowork.http.parsing import Id, LocalDate, Query, parse_query
from cowork.http.reports import STAFF, now_of, report_scope
from cowork.store import analytics as store
from cowork.store import reports

bp = Blueprint("analytics", url_prefix="/api/v1/analytics")

TAG = "analytics"
DEFAULT_DAYS = 30
QUANTILES = (0.5, 0.9, 0.99)
# A period's first local midnight may fall before 2000-01-01 UTC (instant_out_of_range).
PERIOD_PROBLEMS = (
    Problem.FORBIDDEN,
    Problem.LOCATION_NOT_FOUND,
    Problem.INVALID_WINDOW,
    Problem.INSTANT_OUT_OF_RANGE,
)


class PeriodQuery(Query):
    location_id: Id | None = None
    from_: LocalDate | None = Field(None, alias="from", description="First local date (inclusive)")
    to: LocalDate | None = Field(None, description="Last local date (inclusive); default today")


def _period(q: PeriodQuery, now: datetime) -> Period:
    """`to` defaults to today (UTC) or `from` + 29 days; `from` defaults to `to` - 29 days."""
    span = timedelta(days=DEFAULT_DAYS - 1)
    last = q.to or (q.from_ + span if q.from_ else now.date())
    first = q.from_ or last - span
    return Period(first, last)


async def _scope(request: Request) -> tuple[Period, list[store.LocationInfo]]:
    require_role(request, *STAFF)  # members are refused before their query is read
    q = parse_query(request, PeriodQuery)
    ids = await report_scope(request, q.location_id)
    return _period(q, now_of(request)), await store.locations(ids)


# Overview


class Occupancy(Out):
    booked_hours: float
    open_hours: float
    occupancy: float | None


class Rates(Out):
    bookings: int
    cancelled: int
    no_shows: int
    expired_holds: int
    no_show_rate: float | None
    cancellation_rate: float | None
    avg_lead_time_hours: float | None


class LocationOverview(Rates, Occupancy):
    location_id: int
    name: str
    timezone: str
    currency: str
    revenue_cents: int
    refunds_cents: int
    net_revenue_cents: int
    occupancy_by_space_type: dict[str, Occupancy]


class MoneyTotal(Out):
    revenue_cents: int
    refunds_cents: int
    net_revenue_cents: int


class OverviewTotals(Rates, Occupancy):
    revenue_by_currency: dict[str, MoneyTotal]
    occupancy_by_space_type: dict[str, Occupancy]


class PeriodOut(Out):
    from_: str = Field(alias="from")
    to: str


class Overview(Out):
    period: PeriodOut
    locations: list[LocationOverview]
    totals: OverviewTotals


def _period_out(period: Period) -> dict[str, str]:
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


@bp.get("/overview")
@doc(
    "Bookings, net revenue, occupancy, no-show and cancellation rates, lead time",
    tag=TAG,
    query=PeriodQuery,
    response=Overview,
    errors=PERIOD_PROBLEMS,
)
async def overview(request: Request) -> HTTPResponse:
    period, infos = await _scope(request)
    locations, totals = await reports.overview(period, infos)
    return json({"period": _period_out(period), "locations": locations, "totals": totals})


# Bookings over time


class Day(Out):
    date: str
    bookings: int
    cancelled: int
    no_shows: int


class Heatmap(Out):
    weekdays: list[str]
    hours: list[int]
    bookings: list[list[int]] = Field(description="[weekday][hour], local time of the start")


class BookingSeries(Out):
    period: PeriodOut
    daily: list[Day]
    heatmap: Heatmap


@bp.get("/bookings")
@doc(
    "Daily bookings and a weekday-by-hour heatmap, in each location's local time",
    tag=TAG,
    query=PeriodQuery,
    response=BookingSeries,
    errors=PERIOD_PROBLEMS,
)
async def bookings(request: Request) -> HTTPResponse:
    period, infos = await _scope(request)
    bounds = [(i.id, period.bounds(i.tz)) for i in infos]
    hours = await store.hourly_starts(bounds, [i.timezone for i in infos])
    days = {day: {"bookings": 0, "cancelled": 0, "no_shows": 0} for day in period.dates()}
    grid = [[0] * 24 for _ in range(7)]
    for row in hours:
        local: datetime = row["hour"]  # naive local time of the location
        for key in ("bookings", "cancelled", "no_shows"):
            days[local.date()][key] += int(row[key])
        grid[local.weekday()][local.hour] += int(row["bookings"])
    daily = [{"date": day.isoformat(), **counts} for day, counts in days.items()]
    heatmap = {"weekdays": list(WEEKDAY_KEYS), "hours": list(range(24)), "bookings": grid}
    return json({"period": _period_out(period), "daily": daily, "heatmap": heatmap})


# Performance (this node's prometheus registry)


class Percentiles(Out):
    count: int
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class RouteLatency(Percentiles):
    group: str


class Performance(Out):
    node_id: str
    at: str
    latency: list[RouteLatency]
    actors: int
    mailbox_depth: float
    outbox_lag_seconds: float
    event_delivery: Percentiles
    connections: dict[str, float]
    timer_lag_seconds: float


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' rule: linear interpolation inside the bucket holding rank q * count.

    `buckets` are cumulative (upper bound, count) pairs, ending with +Inf. A rank in the +Inf
    bucket answers the largest finite bound (nothing better is known).
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for upper, cumulative in ordered:
        if cumulative >= rank:
            if math.isinf(upper):
                return lower
            if cumulative == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        lower, below = upper, cumulative
    return lower


def _family(registry: CollectorRegistry, name: str) -> list[Any]:
    for family in registry.collect():
        if family.name == name:
            return list(family.samples)
    return []


def _percentiles(samples: Iterable[Any], match: dict[str, str] | None = None) -> dict[str, Any]:
    wanted = match or {}
    picked = [s for s in samples if all(s.labels.get(k) == v for k, v in wanted.items())]
    buckets = [(float(s.labels["le"]), s.value) for s in picked if s.name.endswith("_bucket")]
    count = sum(s.value for s in picked if s.name.endswith("_count"))
    total = sum(s.value for s in picked if s.name.endswith("_sum"))

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 3)

    return {
        "count": int(count),
        "mean_ms": ms(total / count) if count else None,
        **{f"p{round(q * 100)}_ms": ms(histogram_quantile(q, buckets)) for q in QUANTILES},
    }


def _gauge(registry: CollectorRegistry, name: str) -> float:
    return float(sum(s.value for s in _family(registry, name)))


@bp.get("/performance")
@doc(
    "This node: latency percentiles per route group, mailboxes, outbox and delivery lag, streams",
    tag=TAG,
    query=PeriodQuery,
    response=Performance,
    errors=PERIOD_PROBLEMS,
)
async def performance(request: Request) -> HTTPResponse:
    require_role(request, *STAFF)
    q = parse_query(request, PeriodQuery)
    await report_scope(request, q.location_id)  # who may look; the figures are node-wide
    registry: CollectorRegistry = services(request).metrics.registry
    latency = _family(registry, "cowork_http_request_seconds")
    groups = sorted({s.labels["group"] for s in latency if "group" in s.labels})
    connections: dict[str, float] = {}
    for s in _family(registry, "cowork_stream_connections"):
        connections[s.labels.get("kind", "")] = (
            connections.get(s.labels.get("kind", ""), 0) + s.value
        )
    body = {
        "node_id": services(request).settings.node_id,
        "at": now_of(request).isoformat(),
        "latency": [{"group": g, **_percentiles(latency, {"group": g})} for g in groups],
        "actors": int(_gauge(registry, "cowork_actors")),
        "mailbox_depth": _gauge(registry, "cowork_actor_mailbox_depth"),
        "outbox_lag_seconds": _gauge(registry, "cowork_outbox_lag_seconds"),
        "event_delivery": _percentiles(_family(registry, "cowork_event_delivery_seconds")),
        "connections": connections,
        "timer_lag_seconds": _gauge(registry, "cowork_timer_lag_seconds"),
    }
    return json(body)
