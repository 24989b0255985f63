"""Report compositions: the manager's dashboard and the analytics overview, from queries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from cowork.domain.occupancy import Period, local_day, local_month, open_time, ratio, seconds
from cowork.store import analytics
from cowork.store.analytics import LocationInfo

ARRIVALS_WINDOW = timedelta(hours=2)


async def dashboard(ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """Right now at these locations: spaces by state, arrivals, open holds, money, no-shows."""
    infos = await analytics.locations(ids)
    today = [(i.id, local_day(now, i.tz)) for i in infos]
    month = [(i.id, local_month(now, i.tz)) for i in infos]
    until = now + ARRIVALS_WINDOW
    states, counts, money_today, money_month, upcoming = await asyncio.gather(
        analytics.space_states(ids, now),
        analytics.live_counts(ids, now, until, today),
        analytics.money(today),
        analytics.money(month),
        analytics.arrivals(ids, now, until),
    )
    arrivals: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
    for a in upcoming:
        arrivals[a["location_id"]].append(
            {
                "id": a["id"],
                "space_id": a["space_id"],
                "space_name": a["space_name"],
                "user_id": a["user_id"],
                "start": a["starts_at"].isoformat(),
                "end": a["ends_at"].isoformat(),
            }
        )
    items = [
        {
            "location_id": i.id,
            "name": i.name,
            "timezone": i.timezone,
            "currency": i.currency,
            "local_date": now.astimezone(i.tz).date().isoformat(),
            "spaces": states[i.id],
            "arrivals_next_2h": int(counts[i.id]["arrivals"]),
            "arrivals": arrivals[i.id],
            "open_holds": int(counts[i.id]["open_holds"]),
            "today": _money(*money_today[i.id]),
            "month": _money(*money_month[i.id]),
            "no_shows_today": int(counts[i.id]["no_shows"]),
        }
        for i in infos
    ]
    return items


def _money(paid: int, refunded: int) -> dict[str, int]:
    return {"revenue_cents": paid, "refunds_cents": refunded, "net_cents": paid - refunded}


async def overview(
    period: Period, infos: list[LocationInfo]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per location and in total: bookings, money, occupancy, rates, lead time."""
    bounds = [(i.id, period.bounds(i.tz)) for i in infos]
    open_by_location = {i.id: open_time(period, i.tz, i.hours, i.closures) for i in infos}
    # Three independent aggregates, each on its own pooled connection.
    figures, booked, money = await asyncio.gather(
        analytics.booking_figures(bounds),
        analytics.booked_seconds([(i, s) for i, slots in open_by_location.items() for s in slots]),
        analytics.money(bounds),
    )

    items: list[dict[str, Any]] = []
    by_type: dict[str, list[float]] = {}  # type → [booked, open] seconds over all locations
    overall = [0.0, 0.0]
    by_currency: dict[str, list[int]] = {}
    for info in infos:
        f = figures[info.id]
        open_s = seconds(open_by_location[info.id])
        types = {}
        for space_type, n in sorted(info.spaces_by_type.items()):
            b = booked.get((info.id, space_type), 0.0)
            types[space_type] = _occupancy(b, open_s * n)
            acc = by_type.setdefault(space_type, [0.0, 0.0])
            acc[0] += b
            acc[1] += open_s * n
        paid, refunded = money[info.id]
        cash = by_currency.setdefault(info.currency, [0, 0])
        cash[0] += paid
        cash[1] += refunded
        lead = f["lead_seconds"]
        booked_s = sum(v for (loc, _), v in booked.items() if loc == info.id)
        overall[0] += booked_s
        overall[1] += open_s * info.spaces
        items.append(
            {
                "location_id": info.id,
                "name": info.name,
                "timezone": info.timezone,
                "currency": info.currency,
                "revenue_cents": paid,
                "refunds_cents": refunded,
                "net_revenue_cents": paid - refunded,
                **_rates(
                    int(f["bookings"]),
                    int(f["cancelled"]),
                    int(f["no_shows"]),
                    int(f["started"]),
                    None if lead is None else float(lead),
                    int(f["expired_holds"]),
                ),
                **_occupancy(booked_s, open_s * info.spaces),
                "occupancy_by_space_type": types,
            }
        )
    return items, _totals(overall, [figures[i.id] for i in infos], by_type, by_currency)


def _hours(value: float) -> float:
    return round(value / 3600, 4)


def _occupancy(booked: float, open_: float) -> dict[str, Any]:
    return {
        "booked_hours": _hours(booked),
        "open_hours": _hours(open_),
        "occupancy": ratio(booked, open_),
    }


def _rates(bookings: int, cancelled: int, no_shows: int, started: int, lead: float | None,
           expired: int) -> dict[str, Any]:  # fmt: skip
    return {
        "bookings": bookings,
        "cancelled": cancelled,
        "no_shows": no_shows,
        "expired_holds": expired,
        "no_show_rate": ratio(no_shows, started),
        "cancellation_rate": ratio(cancelled, bookings),
        "avg_lead_time_hours": None if lead is None else _hours(lead),
    }


def _totals(
    overall: list[float],
    figures: list[dict[str, Any]],
    by_type: dict[str, list[float]],
    by_currency: dict[str, list[int]],
) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(f[key]) for f in figures)

    bookings = total("bookings")
    lead_sum = sum(float(f["lead_seconds"]) * int(f["bookings"]) for f in figures if f["bookings"])
    return {
        **_rates(
            bookings,
            total("cancelled"),
            total("no_shows"),
            total("started"),
            lead_sum / bookings if bookings else None,
            total("expired_holds"),
        ),
        **_occupancy(overall[0], overall[1]),
        "occupancy_by_space_type": {t: _occupancy(b, o) for t, (b, o) in sorted(by_type.items())},
        "revenue_by_currency": {
            c: {"revenue_cents": p, "refunds_cents": r, "net_revenue_cents": p - r}
            for c, (p, r) in sorted(by_currency.items())
        },
    }
