"""Who is calling: bearer access tokens, roles, and per-location manager rights."""

from __future__ import annotations

from sanic import Request

from cowork.accounts.tokens import InvalidTokenError, Principal, Role, TokenKind, verify
from cowork.domain.problems import Problem
from cowork.http.context import services
from cowork.store.models import User


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_user(request: Request) -> Principal:
    """The authenticated principal, or 401."""
    cached: Principal | None = getattr(request.ctx, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Problem.UNAUTHORIZED.error(
            "Send an access token as `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = verify(services(request).settings.jwt_secret, token, TokenKind.ACCESS)
    except InvalidTokenError as exc:
        raise exc.problem.error(
            "The access token is not valid.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    request.ctx.principal = principal
    return principal


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
