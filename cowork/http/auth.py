"""Who is calling: bearer access tokens, roles, and per-location manager rights."""

from __future__ import annotations

from sanic import Request

from cowork.accounts.epochs import current_principal
from cowork.accounts.tokens import InvalidTokenError, Principal, Role, TokenKind, verify
from cowork.domain.problems import DomainError, Problem
from cowork.http.context import services
from cowork.store.models import User

_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(request: Request) -> None:
    """Middleware: judge a bearer token once per request, against the user's current state.

    The outcome waits in `request.ctx` for `require_user`; a public endpoint ignores it.
    """
    request.ctx.principal = None
    request.ctx.auth_error = None
    token = bearer_token(request)
    if token is None:
        return
    node = services(request)
    try:
        claimed = verify(node.settings.jwt_secret, token, TokenKind.ACCESS)
        request.ctx.principal = await current_principal(node.users, claimed)
    except InvalidTokenError as exc:
        request.ctx.auth_error = exc.problem.error(
            "The access token is not valid.", headers=_INVALID
        )
    except DomainError as exc:
        request.ctx.auth_error = exc


def require_user(request: Request) -> Principal:
    """The authenticated principal (as the user is now), or 401/403."""
    principal: Principal | None = request.ctx.principal
    if principal is not None:
        return principal
    if request.ctx.auth_error is not None:
        raise request.ctx.auth_error
    raise Problem.UNAUTHORIZED.error(
        "Send an access token as `Authorization: Bearer <token>`.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_role(request: Request, *roles: Role) -> Principal:
    principal = require_user(request)
    if principal.role not in roles:
        raise Problem.FORBIDDEN.error("Your role does not allow this action.")
    return principal


async def managed_location_ids(principal: Principal) -> set[int] | None:
    """Locations the principal manages; None means all of them (admin)."""
    if principal.is_admin:
        return None
    if principal.role is not Role.MANAGER:
        return set()
    ids = await User.filter(id=principal.user_id).values_list("managed_locations__id", flat=True)
    return {int(str(i)) for i in ids if i is not None}


async def require_manager_of(request: Request, location_id: int) -> Principal:
    """A manager of this location or an admin, or 403."""
    principal = require_role(request, Role.MANAGER, Role.ADMIN)
    allowed = await managed_location_ids(principal)
    if allowed is not None and location_id not in allowed:
        raise Problem.FORBIDDEN.error("You do not manage this location.")
    return principal
