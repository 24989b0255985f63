"""Password reset: ask for a link by e-mail (no account enumeration), then use it once."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.actions import password_reset as actions
from cowork.domain.problems import Problem
from cowork.http.accounts import TAG, Email, Password, client_ip, throttle_attempt
from cowork.http.context import services
from cowork.http.docs import Auth, Out, doc
from cowork.http.parsing import Body, parse_body

bp = Blueprint("password_reset")

# A reset token is 43 base64url characters (HMAC-SHA256); anything else cannot be one.
ResetToken = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w-]+$")]


class ResetRequestBody(Body):
    email: Email


class ResetConfirmBody(Body):
    token: ResetToken
    password: Password


class ResetRequested(Out):
    detail: str


ACCEPTED = ResetRequested(
    detail="If an account uses this address, a link to choose a new password is on its way."
).model_dump()


@bp.post("/api/v1/auth/password-reset")
@doc(
    "Ask for a password reset link by e-mail (the same answer whether or not the address has "
    "an account)",
    tag=TAG,
    body=ResetRequestBody,
    response=ResetRequested,
    status=202,
    auth=Auth.NONE,
    errors=(Problem.TOO_MANY_ATTEMPTS,),
)
async def request_reset(request: Request) -> HTTPResponse:
    body = parse_body(request, ResetRequestBody)
    node = services(request)
    throttle_attempt(node.reset_throttle, f"reset|{client_ip(request)}")
    await actions.request_reset(node, node.settings, body.email, node.reset_mail_throttle)
    return json(ACCEPTED, status=202)


@bp.post("/api/v1/auth/password-reset/confirm")
@doc(
    "Choose a new password with a reset link's token (once); every session of the account ends",
    tag=TAG,
    body=ResetConfirmBody,
    status=204,
    auth=Auth.NONE,
    errors=(
        Problem.RESET_TOKEN_INVALID,
        Problem.RESET_TOKEN_EXPIRED,
        Problem.ACCOUNT_INACTIVE,
        Problem.TOO_MANY_ATTEMPTS,
    ),
)
async def confirm_reset(request: Request) -> HTTPResponse:
    body = parse_body(request, ResetConfirmBody)
    node = services(request)
    address = f"reset-confirm|{client_ip(request)}"
    throttle_attempt(node.address_throttle, address)  # one address trying many tokens
    await actions.confirm_reset(node, body.token, body.password)
    node.address_throttle.undo(address)
    return empty()
