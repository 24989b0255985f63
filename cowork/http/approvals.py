"""Approvals in the management API: requests for spaces that need a manager's decision."""

from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.actors.commands import Approve, Decline
from cowork.domain.policy import CANCEL_NOTE_MAX
from cowork.domain.problems import Problem
from cowork.http.auth import require_manager_of, require_role
from cowork.http.bookings import ON_BOOKING, BookingPage, requester_for
from cowork.http.context import services
from cowork.http.docs import doc
from cowork.http.idempotency import idempotent
from cowork.http.manage import STAFF
from cowork.http.parsing import (
    Body,
    PageParams,
    decode_cursor,
    encode_cursor,
    page_body,
    parse_body,
    parse_query,
)
from cowork.store import catalogue
from cowork.store.bookings import BookingJson, BookingRow, pending_approvals

bp = Blueprint("approvals", url_prefix="/api/v1/manage")
TAG = "manage"
DECISION_PROBLEMS = (*ON_BOOKING, Problem.FORBIDDEN, Problem.INVALID_TRANSITION)


class DeclineBody(Body):
    note: str | None = Field(
        None, max_length=CANCEL_NOTE_MAX, description="Told to the member, never public"
    )


@bp.get("/locations/<location_id:int>/approvals")
@doc(
    "Requests awaiting a decision at a location, oldest first (each declines itself at its "
    "`expires_at`)",
    tag=TAG,
    query=PageParams,
    response=BookingPage,
    errors=(Problem.FORBIDDEN,),
)
async def pending(request: Request, location_id: int) -> HTTPResponse:
    require_role(request, *STAFF)
    location = await catalogue.get_location(location_id, public=False)
    await require_manager_of(request, location.id)
    page = parse_query(request, PageParams)
    after = decode_cursor(page.cursor) if page.cursor else 0
    items, last = await pending_approvals(location.id, page.limit, after)
    return json(page_body(items, encode_cursor(last) if last is not None else None))


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/approve")
@doc(
    "Approve a request: a paid space's becomes a hold to pay, a free one is booked",
    tag=TAG,
    response=BookingJson,
    idempotent=True,
    errors=DECISION_PROBLEMS,
)
@idempotent
async def approve(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    require_role(request, *STAFF)
    requester = await requester_for(request)
    command = Approve(requester, booking_id, request.ctx.idempotency_id)
    row: BookingRow = await services(request).registry.ask(space_id, command)
    return json(row.to_json())


@bp.post("/spaces/<space_id:int>/bookings/<booking_id:int>/decline")
@doc(
    "Decline a request (its member is told, with the note)",
    tag=TAG,
    body=DeclineBody,
    body_required=False,
    response=BookingJson,
    idempotent=True,
    errors=DECISION_PROBLEMS,
)
@idempotent
async def decline(request: Request, space_id: int, booking_id: int) -> HTTPResponse:
    require_role(request, *STAFF)
    requester = await requester_for(request)
    body = parse_body(request, DeclineBody) if request.body else DeclineBody(note=None)
    command = Decline(requester, booking_id, body.note, request.ctx.idempotency_id)
    row: BookingRow = await services(request).registry.ask(space_id, command)
    return json(row.to_json())
