"""Signed JWTs: short-lived access tokens and stream tokens (HS256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

ISSUER = "cowork"


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"


class TokenKind(StrEnum):
    ACCESS = "access"
    STREAM = "stream"


class InvalidTokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role

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
        "typ": kind.value,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str, kind: TokenKind, *, now: datetime | None = None) -> Principal:
    """Decode a token of the given kind; any defect raises InvalidTokenError."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("token_expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("token_invalid") from exc
    if now is not None and claims["exp"] <= int(now.timestamp()):
        raise InvalidTokenError("token_expired")
    if claims.get("typ") != kind.value:
        raise InvalidTokenError("token_wrong_kind")
    try:
        return Principal(int(claims["sub"]), Role(claims["role"]))
    except (KeyError, ValueError) as exc:
        raise InvalidTokenError("token_invalid") from exc


def utcnow() -> datetime:
    return datetime.now(UTC)
