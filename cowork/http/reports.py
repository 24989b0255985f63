"""Managers' reports: the live dashboard and the bookings of managed locations (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from enum import StrEnum

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.accounts.tokens import Role
from cowork.domain.problems import Problem
from cowork.domain.states import BookingStatus
from cowork.http.auth import managed_location_ids, require_role
from cowork.http.context import services
from cowork.http.docs import Out, doc
from cowork.http.parsing import (
    MAX_ID,
    Id,
    LocalDate,
    PageParams,
    Query,
    cursor_id,
    encode_cursor,
    page_body,
    parse_query,
)
from cowork.store import analytics as store
from cowork.store import reports

bp = Blueprint("reports", url_prefix="/api/v1/manage")

TAG = "manage"
STAFF = (Role.MANAGER, Role.ADMIN)
SCOPE_PROBLEMS = (Problem.FORBIDDEN, Problem.LOCATION_NOT_FOUND)
_STATUS = "(" + "|".join(s.value for s in BookingStatus) + ")"
STATUS_LIST = f"^ *{_STATUS} *(, *{_STATUS} *)*$"


async def report_scope(request: Request, location_id: int | None) -> list[int]:
    """The locations a report covers: the one asked for, else every one the caller manages.

    Members get 403; a manager naming a location they do not manage gets 403; an admin
    naming a location that does not exist gets 404.
    """
    principal = require_role(request, *STAFF)
    allowed = await managed_location_ids(principal)
    if location_id is not None:
        if allowed is not None and location_id not in allowed:
            raise Problem.FORBIDDEN.error("You do not manage this location.")
        if not await store.existing_location_ids([location_id]):
            raise Problem.LOCATION_NOT_FOUND.error(f"No location has id {location_id}.")
        return [location_id]
    if allowed is None:
        return sorted(i.id for i in await store.locations(None))
    return sorted(allowed)


def now_of(request: Request) -> datetime:
    now: datetime = services(request).clock.now()
    return now


# Dashboard


class DashboardQuery(Query):
    location_id: Id | None = None


class SpaceCounts(Out):
    free: int
    held: int
    booked: int
    occupied: int
    pending: int = Field(description="Held by a request awaiting approval")


class Arrival(Out):
    id: int
    space_id: int
    space_name: str
    user_id: int
    start: str
    end: str


class MoneyOut(Out):
    revenue_cents: int
    refunds_cents: int
    net_cents: int


class LocationDashboard(Out):
    location_id: int
    name: str
    timezone: str
    currency: str
    local_date: str
    spaces: SpaceCounts
    arrivals_next_2h: int
    arrivals: list[Arrival]
    open_holds: int
    today: MoneyOut
    month: MoneyOut
    no_shows_today: int


class Dashboard(Out):
    at: str
    locations: list[LocationDashboard]


@bp.get("/dashboard")
@doc(
    "Right now at my locations: spaces, arrivals, holds, revenue, no-shows",
    tag=TAG,
    query=DashboardQuery,
    response=Dashboard,
    errors=SCOPE_PROBLEMS,
)
async def dashboard(request: Request) -> HTTPResponse:
    require_role(request, *STAFF)  # members are refused before their query is read
    query = parse_query(request, DashboardQuery)
    ids = await report_scope(request, query.location_id)
    now = now_of(request)
    return json({"at": now.isoformat(), "locations": await reports.dashboard(ids, now)})


# Bookings


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class BookingsQuery(PageParams):
    location_id: Id | None = None
    space_id: Id | None = None
    status: str | None = Field(
        None, pattern=STATUS_LIST, description="One status or a comma-separated list"
    )
    member: str | None = Field(
        None, max_length=254, description="A user id, or an email (case-insensitive)"
    )
    from_: LocalDate | None = Field(None, alias="from", description="First local date of the start")
    to: LocalDate | None = Field(None, description="Last local date of the start (inclusive)")
    format: ExportFormat = ExportFormat.JSON


class ManagedBooking(Out):
    id: int
    location_id: int
    space_id: int
    space_name: str
    user_id: int
    user_email: str
    start: str
    end: str
    status: str
    price_cents: int
    currency: str
    created_at: str
    expires_at: str | None
    checked_in_at: str | None
    cancel_reason: str | None


class ManagedBookingPage(Out):
    items: list[ManagedBooking]
    next_cursor: str | None


async def _booking_filter(request: Request, q: BookingsQuery) -> store.BookingFilter:
    location_id = q.location_id
    if q.space_id is not None:
        space_location = await store.space_location(q.space_id)
        if space_location is None:
            require_role(request, *STAFF)
            raise Problem.SPACE_NOT_FOUND.error(f"No space has id {q.space_id}.")
        if location_id is not None and location_id != space_location:
            raise Problem.INVALID_INPUT.error("The space is not at that location.")
        location_id = space_location
    ids = await report_scope(request, location_id)
    if q.from_ is not None and q.to is not None and q.to < q.from_:
        raise Problem.INVALID_WINDOW.error("`to` is before `from`.")
    member = (q.member or "").strip()
    user_id = int(member) if member.isdigit() and int(member) <= MAX_ID else None
    return store.BookingFilter(
        location_ids=ids,
        space_id=q.space_id,
        statuses=tuple(s.strip() for s in q.status.split(",")) if q.status else (),
        user_id=user_id,
        email=member if member and user_id is None else None,
        first=q.from_,
        last=q.to,
    )


@bp.get("/bookings")
@doc(
    "Bookings of my locations, filtered; `format=csv` exports every matching row",
    tag=TAG,
    query=BookingsQuery,
    response=ManagedBookingPage,
    media_type=("application/json", "text/csv"),
    errors=(
        *SCOPE_PROBLEMS,
        Problem.SPACE_NOT_FOUND,
        Problem.INVALID_WINDOW,
        Problem.INVALID_INPUT,
    ),
)
async def list_bookings(request: Request) -> HTTPResponse | None:
    require_role(request, *STAFF)
    q = parse_query(request, BookingsQuery)
    spec = await _booking_filter(request, q)
    if q.format is ExportFormat.CSV:
        await _stream_csv(request, spec)
        return None
    before = cursor_id(q.cursor)
    rows = await store.bookings(spec, before_id=before, limit=q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return json(page_body(rows, encode_cursor(rows[-1]["id"]) if more and rows else None))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """OWASP CSV injection: a text cell a spreadsheet would run as a formula (a member can
    name themselves `=HYPERLINK(…)`) is prefixed with a quote and so shown as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def _stream_csv(request: Request, spec: store.BookingFilter) -> None:
    response = await request.respond(
        content_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="bookings.csv"'},
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=store.BOOKING_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    async for row in store.all_bookings(spec):
        writer.writerow({key: neutralise(value) for key, value in row.items()})
        if buffer.tell() > 64 * 1024:
            await response.send(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    await response.send(buffer.getvalue())
    await response.eof()
