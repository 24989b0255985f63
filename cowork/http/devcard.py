"""Dev and tests only: what Stripe.js does with a card, against localstripe.

localstripe's fake Stripe.js cannot confirm a PaymentIntent with a card (its
`confirmCardPayment` only answers 3-D Secure challenges, and a publishable key may not attach a
payment method). The web client's checkout therefore asks this node to do the two calls Stripe.js
would make (attach a test payment method, confirm); the webhook then confirms the booking exactly
as in production. Against real Stripe this route does not exist (404) and the page uses Stripe.js.
"""

from __future__ import annotations

import httpx
from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json
from sanic_ext.extensions.openapi import openapi

from cowork.domain.problems import Problem
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.parsing import Body, parse_body
from cowork.payments import records
from cowork.payments.dev import is_local_stripe

bp = Blueprint("devcard")

# Stripe's test cards → localstripe's test payment methods.
DECLINED_CARDS = {"4000000000000002": "pm_card_chargeDeclined"}
DEFAULT_METHOD = "pm_card_visa"


class CardPayment(Body):
    payment_intent_id: str = Field(min_length=3, max_length=255, pattern=r"^pi_\w+$")
    card_number: str = Field(default="", max_length=32)


@bp.post("/api/v1/dev/card-payments")
@openapi.exclude()
async def card_payment(request: Request) -> HTTPResponse:
    settings = services(request).settings
    if not is_local_stripe(settings):
        raise Problem.NOT_FOUND.error("Only with localstripe (dev and tests).")
    principal = require_user(request)
    body = parse_body(request, CardPayment)
    paid_by = await records.payments_by_intent(body.payment_intent_id)
    if not paid_by or paid_by[0].user_id != principal.user_id:
        raise Problem.PAYMENT_NOT_FOUND.error("No such payment of yours.")
    number = "".join(c for c in body.card_number if c.isdigit())
    method = DECLINED_CARDS.get(number, DEFAULT_METHOD)
    base = f"{settings.stripe_api_base}/v1/payment_intents/{body.payment_intent_id}"
    auth = {"Authorization": f"Bearer {settings.stripe_secret_key}"}
    async with httpx.AsyncClient(timeout=settings.stripe_timeout_seconds, headers=auth) as http:
        attached = await http.post(base, data={"payment_method": method})
        confirmed = await http.post(f"{base}/confirm") if attached.is_success else attached
    if not confirmed.is_success:
        raise Problem.CARD_DECLINED.error("The test card was refused.")
    return json({"status": confirmed.json().get("status")})
