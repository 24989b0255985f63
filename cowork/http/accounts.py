"""Accounts: register, login, refresh rotation, logout, own profile, users admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints
from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.accounts import passwords
from cowork.accounts.throttle import AttemptThrottle, retry_after_header
from cowork.accounts.tokens import Principal, Role
from cowork.actions import accounts as account_actions
from cowork.actions import sessions
from cowork.actions.accounts import managed_ids
from cowork.config import Settings
from cowork.domain.problems import Problem
from cowork.http.auth import require_role, require_user
from cowork.http.context import services
from cowork.http.docs import Auth, Out, doc
from cowork.http.parsing import (
    Body,
    Id,
    PageParams,
    page_body,
    paginate,
    parse_body,
    parse_query,
)
from cowork.store.models import User

bp = Blueprint("accounts")

TAG = "accounts"
ADMIN_TAG = "admin"


# Declared and enforced alike (one regex, ASCII classes both regex engines read the same way).
EMAIL_PATTERN = r"^ *[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+ *$"
_SPACE = " \t\n\r\f\v"
Email = Annotated[
    str,
    StringConstraints(max_length=passwords.EMAIL_MAX, pattern=EMAIL_PATTERN),
    AfterValidator(passwords.normalise_email),
]
Password = Annotated[
    str, StringConstraints(min_length=passwords.PASSWORD_MIN, max_length=passwords.PASSWORD_MAX)
]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=passwords.PASSWORD_MAX)]
Name = Annotated[
    str,
    StringConstraints(max_length=120, pattern=f"^[^\\x00]*[^{_SPACE}\\x00][^\\x00]*$"),
    AfterValidator(lambda name: name.strip(_SPACE)),
]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RegisterBody(Body):
    email: Email
    password: Password
    name: Name


class LoginBody(Body):
    email: Annotated[str, StringConstraints(min_length=1, max_length=passwords.EMAIL_MAX)]
    password: AnyPassword


class RefreshBody(Body):
    refresh_token: OpaqueToken


class MePatch(Body):
    name: Name | None = None
    password: Password | None = None
    current_password: AnyPassword | None = None


class AdminUserPatch(Body):
    role: Role | None = None
    is_active: bool | None = None
    managed_location_ids: Annotated[list[Id], Field(max_length=1000)] | None = None


class AdminUsersQuery(PageParams):
    role: Role | None = None
    email: Annotated[str, StringConstraints(max_length=passwords.EMAIL_MAX)] | None = None


class UserOut(Out):
    id: int
    email: str
    name: str
    role: Role
    managed_location_ids: list[int]
    created_at: datetime


class AdminUserOut(UserOut):
    is_active: bool


class UserPage(Out):
    items: list[AdminUserOut]
    next_cursor: str | None


class TokenPair(Out):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@bp.post("/api/v1/auth/register")
@doc(
    "Create a member account",
    tag=TAG,
    body=RegisterBody,
    response=UserOut,
    status=201,
    auth=Auth.NONE,
    errors=(Problem.EMAIL_TAKEN, Problem.TOO_MANY_ATTEMPTS),
)
async def register(request: Request) -> HTTPResponse:
    body = parse_body(request, RegisterBody)
    throttle_attempt(services(request).registration_throttle, f"register|{client_ip(request)}")
    user = await passwords.register(body.email, body.password, body.name)
    return json(_user_out(user, []).model_dump(mode="json"), status=201)


@bp.post("/api/v1/auth/login")
@doc(
    "Exchange email and password for an access and a refresh token",
    tag=TAG,
    body=LoginBody,
    response=TokenPair,
    auth=Auth.NONE,
    errors=(Problem.INVALID_CREDENTIALS, Problem.ACCOUNT_INACTIVE, Problem.TOO_MANY_ATTEMPTS),
)
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, LoginBody)
    node = services(request)
    address = f"login|{client_ip(request)}"
    key = f"{address}|{passwords.normalise_email(body.email)}"
    throttle_attempt(node.address_throttle, address)  # one address guessing many e-mails
    throttle_attempt(node.login_throttle, key)
    user = await passwords.authenticate(body.email, body.password)
    node.login_throttle.forgive(key)
    node.address_throttle.undo(address)
    return _tokens(await sessions.sign_in(services(request), _settings(request), user))


@bp.post("/api/v1/auth/refresh")
@doc(
    "Rotate a refresh token: spend it, get a new pair",
    tag=TAG,
    body=RefreshBody,
    response=TokenPair,
    auth=Auth.NONE,
    errors=(
        Problem.REFRESH_TOKEN_INVALID,
        Problem.REFRESH_TOKEN_EXPIRED,
        Problem.REFRESH_TOKEN_REUSED,
        Problem.ACCOUNT_INACTIVE,
    ),
)
async def refresh_tokens(request: Request) -> HTTPResponse:
    body = parse_body(request, RefreshBody)
    pair = await sessions.rotate(services(request), _settings(request), body.refresh_token)
    return _tokens(pair)


@bp.post("/api/v1/auth/logout")
@doc(
    "Revoke a refresh token and every token rotated from the same login",
    tag=TAG,
    body=RefreshBody,
    status=204,
    auth=Auth.NONE,
)
async def logout(request: Request) -> HTTPResponse:
    body = parse_body(request, RefreshBody)
    await sessions.sign_out(services(request), body.refresh_token)
    return empty()


@bp.get("/api/v1/me")
@doc("The caller's profile", tag=TAG, response=UserOut, errors=(Problem.ACCOUNT_INACTIVE,))
async def me(request: Request) -> HTTPResponse:
    user = await _current_user(require_user(request))
    return json(_user_out(user, await managed_ids(user)).model_dump(mode="json"))


@bp.patch("/api/v1/me")
@doc(
    "Change the caller's name or password (a new password needs current_password and ends "
    "every other login)",
    tag=TAG,
    body=MePatch,
    response=UserOut,
    errors=(
        Problem.ACCOUNT_INACTIVE,
        Problem.TOO_MANY_ATTEMPTS,
        Problem.CURRENT_PASSWORD_REQUIRED,
        Problem.CURRENT_PASSWORD_WRONG,
    ),
)
async def update_me(request: Request) -> HTTPResponse:
    user = await _current_user(require_user(request))
    body = parse_body(request, MePatch)
    key = f"password|{user.id}"
    if body.password is not None:
        _count_attempt(request, key)
    await account_actions.update_profile(
        services(request),
        user,
        name=body.name,
        password=body.password,
        current_password=body.current_password,
    )
    if body.password is not None:
        services(request).login_throttle.forgive(key)
    return json(_user_out(user, await managed_ids(user)).model_dump(mode="json"))


@bp.get("/api/v1/admin/users")
@doc(
    "List users (admin)",
    tag=ADMIN_TAG,
    query=AdminUsersQuery,
    response=UserPage,
    errors=(Problem.FORBIDDEN,),
)
async def list_users(request: Request) -> HTTPResponse:
    require_role(request, Role.ADMIN)
    query = parse_query(request, AdminUsersQuery)
    users = User.all().prefetch_related("managed_locations")
    if query.role is not None:
        users = users.filter(role=query.role.value)
    if query.email:
        users = users.filter(email__icontains=query.email.strip())
    rows, cursor = await paginate(users, query)
    items = [
        _admin_out(row, [loc.id for loc in row.managed_locations]).model_dump(mode="json")
        for row in rows
    ]
    return json(page_body(items, cursor))


@bp.patch("/api/v1/admin/users/<user_id:int>")
@doc(
    "Change a user's role, activation or managed locations (admin)",
    tag=ADMIN_TAG,
    body=AdminUserPatch,
    response=AdminUserOut,
    errors=(
        Problem.FORBIDDEN,
        Problem.SELF_LOCKOUT,
        Problem.NOT_A_MANAGER,
        Problem.UNKNOWN_LOCATION,
    ),
)
async def update_user(request: Request, user_id: int) -> HTTPResponse:
    admin = require_role(request, Role.ADMIN)
    body = parse_body(request, AdminUserPatch)
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise Problem.USER_NOT_FOUND.error(f"No user has id {user_id}.")
    managed = await account_actions.administer(
        services(request),
        admin.user_id,
        user,
        role=body.role,
        is_active=body.is_active,
        managed_location_ids=body.managed_location_ids,
    )
    return json(_admin_out(user, managed).model_dump(mode="json"))


async def _current_user(principal: Principal) -> User:
    user = await User.get_or_none(id=principal.user_id)
    if user is None:
        raise Problem.UNAUTHORIZED.error("The account is gone.")
    if not user.is_active:
        raise passwords.AccountInactiveError()
    return user


def _user_out(user: User, managed: list[int]) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        managed_location_ids=sorted(managed),
        created_at=user.created_at,
    )


def _admin_out(user: User, managed: list[int]) -> AdminUserOut:
    return AdminUserOut(**_user_out(user, managed).model_dump(), is_active=user.is_active)


def _tokens(pair: dict[str, object]) -> HTTPResponse:
    """Token responses are never cached (RFC 6749 §5.1)."""
    return json(pair, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _settings(request: Request) -> Settings:
    settings: Settings = services(request).settings
    return settings


def client_ip(request: Request) -> str:
    # remote_addr is set only when the proxy headers are trusted (HAProxy in front).
    return request.remote_addr or request.ip


def _count_attempt(request: Request, key: str) -> None:
    throttle_attempt(services(request).login_throttle, key)


def throttle_attempt(throttle: AttemptThrottle, key: str) -> None:
    wait = throttle.attempt(key)
    if wait is not None:
        raise Problem.TOO_MANY_ATTEMPTS.error(
            "Too many failed attempts; wait before trying again.",
            headers={"Retry-After": retry_after_header(wait)},
        )
