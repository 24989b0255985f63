"""Waitlist: wait for a taken slot; when it frees, the first member waiting gets it held."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.actors.commands import AcceptOffer, JoinWaitlist, LeaveWaitlist
from cowork.domain.problems import Problem
from cowork.domain.waitlist import EntryStatus
from cowork.http.auth import require_user
from cowork.http.bookings import SlotBody, requester_for
from cowork.http.context import services
from cowork.http.docs import ACTOR_PROBLEMS, SLOT_PROBLEMS, Link, Out, doc
from cowork.http.idempotency import idempotent
from cowork.http.parsing import (
    PageParams,
    decode_cursor,
    encode_cursor,
    page_body,
    parse_body,
    parse_query,
)
from cowork.store import waitlist as store
from cowork.store.bookings import BookingJson, BookingRow

bp = Blueprint("waitlist", url_prefix="/api/v1")
TAG = "waitlist"


class EntryOut(Out):
    id: int
    space_id: int
    location_id: int
    start: datetime
    end: datetime
    status: EntryStatus
    booking_id: int | None = Field(description="The held booking offered (pay or accept it)")
    offer_expires_at: datetime | None = Field(description="While offered: take it before this")
    created_at: datetime


class EntryPage(Out):
    items: list[EntryOut]
    next_cursor: str | None


def _on_entry(target: str, description: str) -> Link:
    return Link(
        target,
        {"space_id": "$response.body#/space_id", "entry_id": "$response.body#/id"},
        description,
    )


ENTRY_LINKS = {
    "leave": _on_entry("waitlist_leave", "Leave the waitlist"),
    "accept": _on_entry("waitlist_accept", "Take the offer once it is made"),
}


@bp.post("/spaces/<space_id:int>/waitlist")
@doc(
    "Wait for a taken slot: when all of it frees, the first member waiting gets it held for "
    "the location's offer minutes",
    tag=TAG,
    body=SlotBody,
    response=EntryOut,
    status=201,
    idempotent=True,
    links=ENTRY_LINKS,
    errors=(
        *SLOT_PROBLEMS,
        Problem.SPACE_INACTIVE,
        Problem.SLOT_AVAILABLE,
        Problem.ALREADY_WAITING,
        Problem.WAITLIST_FULL,
        *ACTOR_PROBLEMS,
    ),
)
@idempotent
async def join(request: Request, space_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    body = parse_body(request, SlotBody)
    command = JoinWaitlist(requester, body.start, body.end, request.ctx.idempotency_id)
    entry = await services(request).registry.ask(space_id, command)
    headers = {"location": f"/api/v1/spaces/{space_id}/waitlist/{entry['id']}"}
    return json(entry, status=201, headers=headers)


@bp.delete("/spaces/<space_id:int>/waitlist/<entry_id:int>")
@doc(
    "Leave the waitlist; an open offer is declined and passes to the next member",
    tag=TAG,
    status=204,
    errors=(Problem.BOOKING_CHANGED, *ACTOR_PROBLEMS),
)
async def leave(request: Request, space_id: int, entry_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    await services(request).registry.ask(space_id, LeaveWaitlist(requester, entry_id))
    return empty()


@bp.post("/spaces/<space_id:int>/waitlist/<entry_id:int>/accept")
@doc(
    "Take a free offered slot (a paid one is taken by paying its held booking)",
    tag=TAG,
    response=BookingJson,
    idempotent=True,
    errors=(
        Problem.OFFER_NOT_OPEN,
        Problem.OFFER_NEEDS_PAYMENT,
        Problem.BOOKING_CHANGED,
        *ACTOR_PROBLEMS,
    ),
)
@idempotent
async def accept(request: Request, space_id: int, entry_id: int) -> HTTPResponse:
    requester = await requester_for(request)
    command = AcceptOffer(requester, entry_id, request.ctx.idempotency_id)
    row: BookingRow = await services(request).registry.ask(space_id, command)
    return json(row.to_json())


@bp.get("/me/waitlist")
@doc("My waitlist entries, newest first", tag=TAG, query=PageParams, response=EntryPage)
async def mine(request: Request) -> HTTPResponse:
    principal = require_user(request)
    page = parse_query(request, PageParams)
    before = decode_cursor(page.cursor) if page.cursor else None
    now = services(request).clock.now()
    items, last = await store.entries_page(principal.user_id, page.limit, before, now)
    return json(page_body(items, encode_cursor(last) if last is not None else None))
