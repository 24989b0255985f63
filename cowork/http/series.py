"""Recurring series: book an RRULE of occurrences in the location's wall-clock time, cancel
one, this and the following, or all."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.actors.commands import CancelSeries, PlaceSeries
from cowork.domain.policy import CANCEL_NOTE_MAX, ChosenReason
from cowork.domain.problems import Problem
from cowork.domain.recurrence import MAX_DURATION_MINUTES, Recurrence, SeriesMode, SeriesScope
from cowork.http.bookings import requester_for
from cowork.http.context import services
from cowork.http.docs import ACTOR_PROBLEMS, Link, Out, doc
from cowork.http.idempotency import idempotent
from cowork.http.parsing import (
    BigId,
    Body,
    LocalDate,
    PageParams,
    decode_cursor,
    encode_cursor,
    page_body,
    parse_body,
    parse_query,
)
from cowork.store import series as store
from cowork.store.bookings import BookingJson

bp = Blueprint("series", url_prefix="/api/v1")
TAG = "series"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class SeriesBody(Body):
    rrule: str = Field(
        min_length=1,
        max_length=255,
        description="RFC 5545 RRULE: FREQ=WEEKLY|DAILY, INTERVAL, BYDAY, and COUNT or UNTIL "
        "(UNTIL in UTC with Z, else the location's time), e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8",
    )
    first_date: LocalDate = Field(description="The local date the series starts from (DTSTART)")
    start_time: str = Field(pattern=HHMM, description="Local wall-clock start, HH:MM")
    duration_minutes: int = Field(ge=1, le=MAX_DURATION_MINUTES)
    mode: SeriesMode = SeriesMode.ALL_OR_NOTHING

    def recurrence(self) -> Recurrence:
        hour, minute = map(int, self.start_time.split(":"))
        return Recurrence(self.rrule, self.first_date, time(hour, minute), self.duration_minutes)


class SeriesCancelBody(Body):
    scope: SeriesScope
    booking_id: BigId | None = Field(
        None, description="The occurrence `one` / `following` start from"
    )
    reason: ChosenReason | None = None
    note: str | None = Field(None, max_length=CANCEL_NOTE_MAX)


class OccurrenceOut(Out):
    start: datetime
    end: datetime
    outcome: str = Field(description="`booked`, or the problem code that refused it")
    booking: BookingJson | None


class SeriesOut(Out):
    id: int
    space_id: int
    location_id: int
    user_id: int
    rrule: str
    first_date: date
    start_time: str
    duration_minutes: int
    timezone: str
    mode: SeriesMode
    created_at: datetime
    occurrences: list[OccurrenceOut]


class SeriesPage(Out):
    items: list[SeriesOut]
    next_cursor: str | None


class CancelledOccurrence(Out):
    booking_id: int
    start: datetime
    end: datetime
    refund_percent: int
    refund_cents: int


class SeriesCancelOut(Out):
    series_id: int
    scope: SeriesScope
    cancelled: list[CancelledOccurrence]


SERIES_LINKS = {
    "get": Link("series_detail", {"series_id": "$response.body#/id"}, "Read it"),
    "cancel": Link(
        "series_cancel",
        {"space_id": "$response.body#/space_id", "series_id": "$response.body#/id"},
        "Cancel occurrences",
    ),
    "pay": Link(
        "payments_pay_series", {"series_id": "$response.body#/id"}, "Pay its held occurrences"
    ),
}


@bp.post("/spaces/<space_id:int>/series")
@doc(
    "Book a recurring series (each occurrence keeps its local time across DST); the answer "
    "gives each occurrence's outcome",
    tag=TAG,
    body=SeriesBody,
    response=SeriesOut,
    status=201,
    idempotent=True,
    links=SERIES_LINKS,
    errors=(
        Problem.INVALID_RECURRENCE,
        Problem.SERIES_NOT_BOOKED,
        Problem.QUOTA_EXCEEDED,
        Problem.SPACE_INACTIVE,
        *ACTOR_PROBLEMS,
    ),
)
@idempotent
async def create(request: Request, space_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = parse_body(request, SeriesBody)
    command = PlaceSeries(requester, body.recurrence(), body.mode, request.ctx.idempotency_id)
    answer: dict[str, Any] = await services(request).registry.ask(space_id, command)
    return json(answer, status=201, headers={"location": f"/api/v1/series/{answer['id']}"})


@bp.post("/spaces/<space_id:int>/series/<series_id:int>/cancel")
@doc(
    "Cancel one occurrence, this and the following, or all not yet begun; each refunded by "
    "the location's policy for its own start",
    tag=TAG,
    body=SeriesCancelBody,
    response=SeriesCancelOut,
    idempotent=True,
    errors=(
        Problem.BOOKING_NOT_FOUND,
        Problem.INVALID_TRANSITION,
        Problem.BOOKING_CHANGED,
        *ACTOR_PROBLEMS,
    ),
)
@idempotent
async def cancel(request: Request, space_id: int, series_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = parse_body(request, SeriesCancelBody)
    command = CancelSeries(
        requester,
        series_id,
        body.scope,
        body.booking_id,
        body.reason,
        body.note,
        request.ctx.idempotency_id,
    )
    return json(await services(request).registry.ask(space_id, command))


@bp.get("/series/<series_id:int>")
@doc(
    "A series with every occurrence (its member, the location's managers, admins)",
    tag=TAG,
    response=SeriesOut,
)
async def detail(request: Request, series_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    return json(await store.visible_detail(series_id, requester.may_act_on))


@bp.get("/me/series")
@doc("My recurring series, newest first", tag=TAG, query=PageParams, response=SeriesPage)
async def mine(request: Request) -> HTTPResponse:
    requester = await requester_for(request)
    page = parse_query(request, PageParams)
    before = decode_cursor(page.cursor) if page.cursor else None
    assert requester.user_id is not None
    items, last = await store.page_of(requester.user_id, page.limit, before)
    return json(page_body(items, encode_cursor(last) if last is not None else None))
