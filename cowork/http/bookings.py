"""Bookings: writes go to the space's actor; reads are one query or the actor's memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, model_validator
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.accounts.tokens import Role
from cowork.actions.bookings import Cancelled
from cowork.actors.commands import (
    Cancel,
    CheckIn,
    MarkNoShow,
    PlaceHold,
    Requester,
    Reschedule,
)
from cowork.actors.reads import AvailabilityReads
from cowork.domain.errors import BookingNotFoundError, LocationNotFoundError
from cowork.domain.policy import CANCEL_NOTE_MAX, ChosenReason
from cowork.domain.presence import booking_pin
from cowork.domain.problems import Problem
from cowork.domain.slots import Slot
from cowork.domain.states import FLOOR_LABELS, BookingStatus
from cowork.http.auth import managed_location_ids, require_user
from cowork.http.cached import cached_read, encoded
from cowork.http.catalogue import FloorOut
from cowork.http.context import services
from cowork.http.docs import ACTOR_PROBLEMS, SLOT_PROBLEMS, Auth, Link, Out, doc, one_of
from cowork.http.idempotency import idempotent
from cowork.http.parsing import (
    Body,
    Instant,
    PageParams,
    Query,
    QueryInstant,
    page_body,
    paginate,
    parse_body,
    parse_query,
)
from cowork.payments.checkout import follow_price
from cowork.store.bookings import BookingJson, BookingRow, floor_snapshot, get_booking
from cowork.store.catalogue import SpaceType
from cowork.store.models import Booking

bp = Blueprint("bookings", url_prefix="/api/v1")

MAX_AVAILABILITY_WINDOW = timedelta(days=31)


class SlotBody(Body):
    start: Instant
    end: Instant


class CheckInBody(Body):
    presence_code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}$", description="The code the space's kiosk shows"
    )


class CancelBody(Body):
    reason: ChosenReason | None = Field(
        default=None, description="Why (a code); left out: recorded as cancelled by you"
    )
    note: str | None = Field(
        default=None, max_length=CANCEL_NOTE_MAX, description="Your own words (kept private)"
    )


class BookingPage(Out):
    items: list[BookingJson]
    next_cursor: str | None


class BookingsQuery(PageParams):
    status: BookingStatus | None = None
    from_: QueryInstant | None = Field(default=None, alias="from", description="Ends after")
    to: QueryInstant | None = Field(default=None, description="Starts before")


class WindowQuery(Query):
    from_: QueryInstant = Field(alias="from")
    to: QueryInstant = Field(description="After `from`, at most 31 days later")

    @model_validator(mode="after")
    def ordered(self) -> WindowQuery:
        if self.to <= self.from_:
            raise Problem.INVALID_WINDOW.error("`to` must be after `from`.")
        if self.to - self.from_ > MAX_AVAILABILITY_WINDOW:
            raise Problem.INVALID_WINDOW.error("The window may span at most 31 days.")
        return self


class Interval(Out):
    start: datetime
    end: datetime


class BusyInterval(Interval):
    status: BookingStatus


class AvailabilityOut(Out):
    space_id: int
    from_: datetime = Field(alias="from")
    to: datetime
    busy: list[BusyInterval]
    free: list[Interval]


def _on_booking(target: str, description: str) -> Link:
    return Link(
        target,
        {"space_id": "$response.body#/space_id", "booking_id": "$response.body#/id"},
        description,
    )


BOOKING_LINKS = {
    "get": Link("bookings_booking_detail", {"booking_id": "$response.body#/id"}, "Read it"),
    "cancel": _on_booking("bookings_cancel", "Cancel it"),
    "checkIn": _on_booking("bookings_check_in", "Check in"),
    "reschedule": _on_booking("bookings_reschedule", "Move it"),
    "noShow": _on_booking("bookings_no_show", "Mark a no-show (staff)"),
    "approve": _on_booking("approvals_approve", "Approve a request (staff)"),
    "decline": _on_booking("approvals_decline", "Decline a request (staff)"),
    "pay": Link("payments_pay", {"booking_id": "$response.body#/id"}, "Pay the hold"),
    "kioskCheckIn": Link(
        "kiosks_kiosk_check_in", {}, "Check in at the kiosk", {"booking_id": "$response.body#/id"}
    ),
}
ON_BOOKING = (Problem.BOOKING_NOT_FOUND, Problem.BOOKING_CHANGED, *ACTOR_PROBLEMS)


async def requester_for(request: Request) -> Requester:
    principal = require_user(request)
    managed = await managed_location_ids(principal) if principal.role is Role.MANAGER else set()
    return Requester(
        user_id=principal.user_id,
        is_admin=principal.is_admin,
        managed_locations=frozenset(managed or ()),
    )


def _booking(row: BookingRow, status: int = 200) -> HTTPResponse:
    return json(row.to_json(), status=status)


def _optional_body(request: Request, model: type[Body]) -> Any:
    return parse_body(request, model) if request.body else model()


@bp.post("/spaces/<space_id:int>/bookings")
@doc(
    "Hold (or, when free, confirm) a slot",
    tag="bookings",
    body=SlotBody,
    response=BookingJson,
    status=201,
    idempotent=True,
    links=BOOKING_LINKS,
    errors=(
        *SLOT_PROBLEMS,
        Problem.SLOT_TAKEN,
        Problem.SPACE_INACTIVE,
        Problem.QUOTA_EXCEEDED,
        *ACTOR_PROBLEMS,
    ),
)
@idempotent
async def place_hold(request: Request, space_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = parse_body(request, SlotBody)
    row: BookingRow = await services(request).registry.ask(
        space_id, PlaceHold(requester, body.start, body.end, request.ctx.idempotency_id)
    )
    response = _booking(row, 201)
    response.headers["location"] = f"/api/v1/bookings/{row.id}"
    return response


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/cancel")
@doc(
    "Cancel a booking (refund by the location's policy)",
    tag="bookings",
    body=CancelBody,
    body_required=False,
    response=BookingJson,
    idempotent=True,
    errors=(*ON_BOOKING, Problem.INVALID_TRANSITION),
)
@idempotent
async def cancel(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = _optional_body(request, CancelBody)
    outcome: Cancelled = await services(request).registry.ask(
        space_id,
        Cancel(requester, booking_id, body.reason, request.ctx.idempotency_id, body.note),
    )
    return _booking(outcome.booking)


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/check-in")
@doc(
    "Check in (15 min before start until start + grace); where the location asks for "
    "presence, with the code its kiosk shows",
    tag="bookings",
    body=CheckInBody,
    response=BookingJson,
    body_required=False,
    idempotent=True,
    errors=(
        *ON_BOOKING,
        Problem.INVALID_TRANSITION,
        Problem.CHECK_IN_WINDOW_CLOSED,
        Problem.PRESENCE_REQUIRED,
    ),
)
@idempotent
async def check_in(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = _optional_body(request, CheckInBody)
    command = CheckIn(
        requester, booking_id, request.ctx.idempotency_id, presence_code=body.presence_code
    )
    return _booking(await services(request).registry.ask(space_id, command))


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/reschedule")
@doc(
    "Move a booking within its space; the old slot is kept unless the new one is won",
    tag="bookings",
    body=SlotBody,
    response=BookingJson,
    idempotent=True,
    errors=(
        *ON_BOOKING,
        *SLOT_PROBLEMS,
        Problem.SLOT_TAKEN,
        Problem.SPACE_INACTIVE,
        Problem.INVALID_TRANSITION,
        Problem.RESCHEDULE_COSTS_MORE,
        Problem.QUOTA_EXCEEDED,
    ),
)
@idempotent
async def reschedule(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = parse_body(request, SlotBody)
    node = services(request)
    command = Reschedule(requester, booking_id, body.start, body.end, request.ctx.idempotency_id)
    row: BookingRow = await node.registry.ask(space_id, command)
    await follow_price(node.payments, row)
    return _booking(row)


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/no-show")
@doc(
    "Mark a no-show (managers of the location, admins)",
    tag="bookings",
    response=BookingJson,
    idempotent=True,
    errors=(*ON_BOOKING, Problem.FORBIDDEN, Problem.INVALID_TRANSITION, Problem.NO_SHOW_TOO_EARLY),
)
@idempotent
async def no_show(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    row = await services(request).registry.ask(
        space_id, MarkNoShow(requester, booking_id, request.ctx.idempotency_id)
    )
    return _booking(row)


@bp.get("/bookings")
@doc("My bookings, newest first", tag="bookings", query=BookingsQuery, response=BookingPage)
async def my_bookings(request: Request) -> HTTPResponse:
    principal = require_user(request)
    query = parse_query(request, BookingsQuery)
    qs = Booking.filter(user_id=principal.user_id)
    if query.status is not None:
        qs = qs.filter(status=query.status.value)
    if query.from_ is not None:
        qs = qs.filter(ends_at__gt=query.from_)
    if query.to is not None:
        qs = qs.filter(starts_at__lt=query.to)
    rows, cursor = await paginate(qs, query, newest_first=True)
    return json(page_body([_model_json(b) for b in rows], cursor))


def _model_json(b: Booking) -> dict[str, Any]:
    return BookingRow(
        b.id,
        b.space_id,
        b.location_id,
        b.user_id,
        b.starts_at,
        b.ends_at,
        BookingStatus(b.status),
        b.price_cents,
        b.currency,
        b.expires_at,
        b.deadline_at,
        b.checked_in_at,
        b.cancel_reason,
        b.created_at,
        b.buffer_before_minutes,
        b.buffer_after_minutes,
        b.series_id,  # My bookings groups a series' occurrences by it
    ).to_json()


class BookingDetail(BookingJson, total=False):
    check_in_pin: str  # its member only: typed on a kiosk of the location to check in there


@bp.get("/bookings/<booking_id:int>")
@doc(
    "One booking (its member, the location's managers, admins)",
    tag="bookings",
    response=BookingDetail,
)
async def booking_detail(request: Request, booking_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    row = await get_booking(booking_id)
    if row is None or not requester.may_act_on(row.user_id, row.location_id):
        raise BookingNotFoundError(booking_id)
    body = row.to_json()
    if requester.user_id == row.user_id:
        body["check_in_pin"] = booking_pin(services(request).settings.presence_key, row.id)
    return json(body)


@bp.get("/spaces/<space_id:int>/availability")
@doc(
    "Busy and free intervals of a space (from the space actor's memory)",
    tag="availability",
    query=WindowQuery,
    response=AvailabilityOut,
    auth=Auth.NONE,
    errors=(Problem.INVALID_WINDOW, Problem.INSTANT_OUT_OF_RANGE, *ACTOR_PROBLEMS),
)
async def availability(request: Request, space_id: int) -> HTTPResponse:
    node = services(request)
    reads = AvailabilityReads(node.registry, node.clock)
    key = request.query_string  # an answer is kept per exact question, parsed once
    read = reads.cached(space_id, key)
    if read is None:
        query = parse_query(request, WindowQuery)
        read = await reads.read(space_id, key, Slot(query.from_, query.to))
    return encoded(request, read.body, read.etag)


class FloorSpace(Out):
    id: int
    name: str
    type: SpaceType
    capacity: int
    floor: int
    x: int
    y: int
    width: int
    height: int
    status: str = one_of(FLOOR_LABELS.values())
    until: datetime | None
    next_start: datetime | None


class FloorQuery(Query):
    at: QueryInstant | None = Field(None, description="The instant to show (default: now)")


class FloorMapOut(Out):
    location_id: int
    at: datetime
    floors: list[FloorOut]
    spaces: list[FloorSpace]


@bp.get("/locations/<location_id:int>/floor")
@doc(
    "Every space's status at an instant (now by default): free, held, booked or occupied",
    tag="availability",
    query=FloorQuery,
    response=FloorMapOut,
    auth=Auth.NONE,
)
@cached_read()
async def floor(request: Request, location_id: int) -> HTTPResponse:
    at = parse_query(request, FloorQuery).at
    snapshot = await floor_snapshot(location_id, services(request).clock.now(), at)
    if snapshot is None:
        raise LocationNotFoundError(f"location {location_id} not found")
    return json(snapshot)
