"""Signed JWTs: short-lived access tokens and stream tokens (HS256)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from cowork.domain.errors import UnauthorizedError
from cowork.domain.problems import Problem

ISSUER = "cowork"


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"


class TokenKind(StrEnum):
    ACCESS = "access"
    STREAM = "stream"


class InvalidTokenError(UnauthorizedError):
    """A token that cannot be used; its problem says why (expired, wrong kind, invalid)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.meaning, problem=problem)

    @property
    def reason(self) -> str:
        return self.code


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role
    epoch: int = 0  # the user's auth epoch the token was issued under
    expires_at: datetime | None = field(default=None, compare=False)  # of a verified token

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def issue(
    secret: str, principal: Principal, kind: TokenKind, ttl_seconds: int, *, now: datetime
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": str(principal.user_id),
        "role": principal.role.value,
        "ep": principal.epoch,
        "typ": kind.value,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str, kind: TokenKind, *, now: datetime | None = None) -> Principal:
    """Decode a token of the given kind; any defect raises InvalidTokenError."""
    principal, expires, token_kind = _decode(secret, token)
    moment = int((now or utcnow()).timestamp())
    if expires <= moment:
        raise InvalidTokenError(Problem.TOKEN_EXPIRED)
    if token_kind != kind.value:
        raise InvalidTokenError(Problem.TOKEN_WRONG_KIND)
    return principal


@functools.lru_cache(maxsize=4096)
def _decode(secret: str, token: str) -> tuple[Principal, int, str]:
    """Check signature and claims once per token (HMAC and JSON cost more than the rest of a
    request); expiry is judged on every use by `verify`. Failures are not cached."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False},
        )
        expires = int(claims["exp"])
        principal = Principal(
            int(claims["sub"]),
            Role(claims["role"]),
            int(claims.get("ep", 0)),
            datetime.fromtimestamp(expires, UTC),
        )
        return principal, expires, claims["typ"]
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidTokenError(Problem.TOKEN_INVALID) from exc


def utcnow() -> datetime:
    return datetime.now(UTC)
