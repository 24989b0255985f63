"""Quotes a client shows before acting: a slot's price, and what cancelling would refund.

Read-only: the same domain rules the space actor applies (validate_slot, price_cents,
refund_percent), so the page never re-implements them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.domain.errors import BookingNotFoundError, SpaceNotFoundError
from cowork.domain.policy import cancellation_percent
from cowork.domain.pricing import price_cents
from cowork.domain.schedule import validate_slot
from cowork.domain.slots import Slot
from cowork.domain.states import LIVE_STATUSES
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.docs import SLOT_PROBLEMS, Auth, Out, doc
from cowork.http.parsing import Query, QueryInstant, parse_query
from cowork.payments import records
from cowork.payments.owed import cancellation_refund_cents
from cowork.store.bookings import get_booking, load_rules

bp = Blueprint("quotes", url_prefix="/api/v1")


class QuoteQuery(Query):
    start: QueryInstant
    end: QueryInstant = Field(description="After `start` (else `slot_order`)")


class QuoteOut(Out):
    space_id: int
    start: datetime
    end: datetime
    price_cents: int
    currency: str


class CancellationOut(Out):
    booking_id: int
    refund_percent: int = Field(description="By the location's policy, if cancelled now")
    paid_cents: int
    refund_cents: int
    currency: str


@bp.get("/spaces/<space_id:int>/quote")
@doc(
    "Price of a slot, checked against the space's rules (nothing is held)",
    tag="availability",
    query=QuoteQuery,
    response=QuoteOut,
    auth=Auth.NONE,
    errors=SLOT_PROBLEMS,
)
async def quote(request: Request, space_id: int) -> HTTPResponse:
    q = parse_query(request, QuoteQuery)
    rules = await load_rules(space_id)
    if rules is None:
        raise SpaceNotFoundError(f"space {space_id} does not exist")
    slot = Slot(q.start, q.end)
    now = services(request).clock.now()
    validate_slot(
        slot, now=now, tz=rules.tz, hours=rules.hours, closures=rules.closures, limits=rules.limits
    )
    price = price_cents(
        slot, tz=rules.tz, hourly_cents=rules.hourly_cents, daily_cents=rules.daily_cents
    )
    return json(
        QuoteOut(
            space_id=space_id, start=q.start, end=q.end, price_cents=price, currency=rules.currency
        ).model_dump(mode="json")
    )


@bp.get("/bookings/<booking_id:int>/cancellation")
@doc(
    "What cancelling my booking now would refund (the policy's percent of what was paid)",
    tag="bookings",
    response=CancellationOut,
)
async def cancellation(request: Request, booking_id: int) -> HTTPResponse:
    principal = require_user(request)
    row = await get_booking(booking_id)
    if row is None or row.user_id != principal.user_id or row.status not in LIVE_STATUSES:
        raise BookingNotFoundError(booking_id)
    rules = await load_rules(row.space_id)
    if rules is None:
        raise BookingNotFoundError(booking_id)
    percent = cancellation_percent(
        rules.policy, starts_at=row.starts_at, now=services(request).clock.now(), by_staff=False
    )
    payment = await records.payment_for_booking(booking_id)
    paid = payment.amount_cents if payment is not None and payment.paid else 0
    refund = cancellation_refund_cents(payment, percent) if payment is not None else 0
    out = CancellationOut(
        booking_id=booking_id,
        refund_percent=percent,
        paid_cents=paid,
        refund_cents=refund,
        currency=row.currency,
    )
    return json(out.model_dump(mode="json"))
