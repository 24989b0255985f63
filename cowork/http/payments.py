"""Payments: pay a held booking, Stripe's webhook, refunds by staff, payment history."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.accounts.tokens import Role
from cowork.config import Settings
from cowork.domain.problems import Problem
from cowork.http.auth import (
    managed_location_ids,
    require_manager_of,
    require_role,
    require_user,
)
from cowork.http.context import services
from cowork.http.docs import Link, Out, doc
from cowork.http.parsing import (
    MAX_ID,
    Body,
    PageParams,
    page_body,
    paginate,
    parse_body,
    parse_query,
)
from cowork.payments import records, webhooks
from cowork.payments.checkout import start_payment, start_series_payment
from cowork.payments.records import PaymentRow
from cowork.payments.refunds import PaymentNotFoundError, request_refund
from cowork.store.models import Booking, Payment

bp = Blueprint("payments")


class PaymentRequest(BaseModel):
    """Nothing is needed: the booking sets the price. Anything sent (an amount) is ignored."""

    model_config = ConfigDict(extra="ignore")


STRIPE_PROBLEMS = (
    Problem.PAYMENTS_UNAVAILABLE,
    Problem.PAYMENTS_NOT_CONFIGURED,
    Problem.PAYMENT_PROVIDER_REJECTED,
)


class PaymentIntentOut(Out):
    payment_id: int
    booking_id: int
    payment_intent_id: str
    client_secret: str
    amount_cents: int
    currency: str
    status: str
    publishable_key: str
    stripe_js_url: str


class SeriesShareOut(Out):
    payment_id: int
    booking_id: int
    amount_cents: int


class SeriesPaymentOut(Out):
    series_id: int
    payment_intent_id: str
    client_secret: str
    amount_cents: int = Field(description="The sum of the occurrences' prices")
    currency: str
    status: str
    occurrences: list[SeriesShareOut]
    publishable_key: str
    stripe_js_url: str


class RefundBody(Body):
    amount_cents: int = Field(gt=0, le=MAX_ID)
    reason: str = Field(default="", max_length=255)


class RefundOut(Out):
    id: int
    payment_id: int
    stripe_refund_id: str | None
    amount_cents: int
    currency: str
    reason: str
    status: str
    created_at: datetime


class PaymentOut(Out):
    id: int
    booking_id: int
    space_id: int
    location_id: int
    user_id: int
    series_id: int | None = Field(description="Set when the series was paid up front")
    payment_intent_id: str
    amount_cents: int
    refunded_cents: int
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime
    refunds: list[RefundOut]


class PaymentPage(Out):
    items: list[PaymentOut]
    next_cursor: str | None


class RefundResult(Out):
    refund: RefundOut
    payment: PaymentOut


class PaymentsQuery(PageParams):
    scope: Literal["mine", "managed"] = "mine"
    status: str | None = Field(default=None, max_length=32)


@bp.post("/api/v1/bookings/<booking_id:int>/payment")
@doc(
    "Pay a held booking: create (or return) its Stripe PaymentIntent",
    tag="payments",
    body=PaymentRequest,
    body_required=False,
    response=PaymentIntentOut,
    status=201,
    also=(200,),
    description="201 when the PaymentIntent is created, 200 when the booking already has one.",
    links={
        "refund": Link(
            "payments_refund", {"payment_id": "$response.body#/payment_id"}, "Refund it (staff)"
        )
    },
    errors=(Problem.BOOKING_NOT_PAYABLE, *STRIPE_PROBLEMS),
)
async def pay(request: Request, booking_id: int) -> HTTPResponse:
    principal = require_user(request)
    if request.body:
        parse_body(request, PaymentRequest)  # a malformed body is still a 400
    settings = services(request).settings
    checkout = await start_payment(services(request).payments, principal.user_id, booking_id)
    p = checkout.payment
    body = {"payment_id": p.id, "booking_id": p.booking_id, "amount_cents": p.amount_cents}
    return json({**body, **_intent(p, settings)}, status=201 if checkout.created else 200)


def _intent(p: PaymentRow, settings: Settings) -> dict[str, Any]:
    """What the page needs to confirm a PaymentIntent with Stripe.js."""
    return {
        "payment_intent_id": p.stripe_payment_intent_id,
        "client_secret": p.client_secret,
        "currency": p.currency,
        "status": p.status,
        "publishable_key": settings.stripe_publishable_key,
        "stripe_js_url": settings.stripe_js_url,
    }


@bp.post("/api/v1/series/<series_id:int>/payment")
@doc(
    "Pay a series up front: one PaymentIntent for all its held occurrences not yet paid",
    tag="payments",
    body=PaymentRequest,
    body_required=False,
    response=SeriesPaymentOut,
    status=201,
    also=(200,),
    description="201 when the PaymentIntent is created, 200 when the series already has one "
    "waiting. Each occurrence keeps its own payment (its price, its refunds by the policy); "
    "an occurrence cancelled before the money arrives is refunded alone, the others confirm.",
    errors=(Problem.SERIES_NOT_FOUND, Problem.SERIES_NOT_PAYABLE, *STRIPE_PROBLEMS),
)
async def pay_series(request: Request, series_id: int) -> HTTPResponse:
    principal = require_user(request)
    if request.body:
        parse_body(request, PaymentRequest)
    settings = services(request).settings
    checkout = await start_series_payment(services(request).payments, principal.user_id, series_id)
    shares = [
        {"payment_id": p.id, "booking_id": p.booking_id, "amount_cents": p.amount_cents}
        for p in checkout.payments
    ]
    body = {"series_id": series_id, "amount_cents": checkout.amount_cents, "occurrences": shares}
    intent = _intent(checkout.payments[0], settings)
    return json({**body, **intent}, status=201 if checkout.created else 200)


@bp.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> HTTPResponse:
    """Signed by Stripe (no bearer token); 4xx only for deliveries that are not Stripe's."""
    outcome = await webhooks.handle(
        services(request).payments, request.body or b"", request.headers.get("stripe-signature")
    )
    return json({"received": True, "outcome": outcome})


@bp.post("/api/v1/manage/payments/<payment_id:int>/refunds")
@doc(
    "Refund part or all of what is left of a payment (managers of its location, admins)",
    tag="payments",
    body=RefundBody,
    response=RefundResult,
    status=201,
    also=(202,),
    description="202 when Stripe could not be reached: the refund is kept and retried. An "
    "Idempotency-Key header makes a retried request the same refund.",
    errors=(
        Problem.FORBIDDEN,
        Problem.PAYMENT_NOT_REFUNDABLE,
        Problem.REFUND_EXCEEDS_REMAINING,
        Problem.INVALID_REFUND_AMOUNT,
        Problem.REFUND_FAILED,
        *STRIPE_PROBLEMS,
    ),
)
async def refund(request: Request, payment_id: int) -> HTTPResponse:
    principal = require_role(request, Role.MANAGER, Role.ADMIN)
    booking = await Booking.filter(payments__id=payment_id).first()
    if booking is None:
        raise PaymentNotFoundError(f"payment {payment_id} not found")
    await require_manager_of(request, booking.location_id)
    body = parse_body(request, RefundBody)
    made = await request_refund(
        services(request).payments,
        payment_id,
        body.amount_cents,
        reason=body.reason or "refund by staff",
        key=_refund_key(request, payment_id, principal.user_id),
        created_by=principal.user_id,
    )
    payment = await records.payment_by_id(payment_id)
    assert payment is not None
    out = {
        "refund": made.to_json(payment.currency),
        "payment": (await records.payment_views([payment_id]))[0],
    }
    if made.status == "failed":
        raise Problem.REFUND_FAILED.error(made.last_error or "Stripe refused the refund.", **out)
    # queued: Stripe could not be reached; the refund is kept and retried.
    return json(out, status=202 if made.status == "queued" else 201)


def _refund_key(request: Request, payment_id: int, user_id: int) -> str:
    """An Idempotency-Key header makes a retried request the same refund; else a new one."""
    header = request.headers.get("idempotency-key")
    if header:
        digest = hashlib.sha256(f"{user_id}:{header}".encode()).hexdigest()[:32]
        return f"refund-manual-{payment_id}-{digest}"
    return f"refund-manual-{payment_id}-{uuid.uuid4().hex}"


@bp.get("/api/v1/payments")
@doc(
    "Payment history: mine, or (scope=managed) my locations' (all of them for admins)",
    tag="payments",
    query=PaymentsQuery,
    response=PaymentPage,
    errors=(Problem.FORBIDDEN,),
)
async def history(request: Request) -> HTTPResponse:
    principal = require_user(request)
    query = parse_query(request, PaymentsQuery)
    qs = Payment.all()
    if query.scope == "managed":
        if principal.role not in (Role.MANAGER, Role.ADMIN):
            raise Problem.FORBIDDEN.error("Only staff can list managed payments.")
        locations = await managed_location_ids(principal)
        if locations is not None:
            qs = qs.filter(booking__location_id__in=sorted(locations))
    else:
        qs = qs.filter(user_id=principal.user_id)
    if query.status:
        qs = qs.filter(status=query.status)
    rows, cursor = await paginate(qs, query, newest_first=True)
    return json(page_body(await records.payment_views([r.id for r in rows]), cursor))
