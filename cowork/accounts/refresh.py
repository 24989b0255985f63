"""Rotating refresh tokens, stored hashed, grouped in families for reuse detection.

A login starts a family. Each refresh spends the presented token (a conditional UPDATE,
so of two concurrent uses exactly one wins) and issues the next token of the same family.
Presenting a spent or revoked token means a copy leaked: the whole family is revoked,
so the thief and the victim are both logged out and the victim logs in afresh.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from tortoise.transactions import in_transaction

from cowork.accounts.passwords import AccountInactiveError
from cowork.domain.errors import UnauthorizedError
from cowork.domain.problems import Problem
from cowork.store.models import RefreshToken, User

TOKEN_BYTES = 32


class RefreshTokenInvalidError(UnauthorizedError):
    problem = Problem.REFRESH_TOKEN_INVALID


class RefreshTokenExpiredError(UnauthorizedError):
    problem = Problem.REFRESH_TOKEN_EXPIRED


class RefreshTokenReusedError(UnauthorizedError):
    problem = Problem.REFRESH_TOKEN_REUSED
    user_id: int | None = None  # whose family was revoked (never sent to the client)


class _Outcome(Enum):
    ROTATED = "rotated"
    REUSED = "reused"
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class Rotation:
    user: User
    refresh_token: str


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Only this digest is stored; the token itself is high-entropy, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


async def _store(user_id: int, family_id: uuid.UUID, ttl_seconds: int, now: datetime) -> str:
    token = new_token()
    await RefreshToken.create(
        user_id=user_id,
        token_hash=token_hash(token),
        family_id=family_id,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    return token


async def start_family(user: User, ttl_seconds: int, *, now: datetime) -> str:
    """The first refresh token of a new login."""
    return await _store(user.id, uuid.uuid4(), ttl_seconds, now)


async def revoke_family(family_id: uuid.UUID, *, now: datetime) -> None:
    await RefreshToken.filter(family_id=family_id, revoked_at__isnull=True).update(revoked_at=now)


async def revoke_user(user_id: int, *, now: datetime) -> None:
    """Every refresh token of the user (deactivation, password change)."""
    await RefreshToken.filter(user_id=user_id, revoked_at__isnull=True).update(revoked_at=now)


async def rotate(token: str, ttl_seconds: int, *, now: datetime) -> Rotation:
    """Spend a refresh token and return its successor in the same family."""
    row = await RefreshToken.get_or_none(token_hash=token_hash(token))
    if row is None:
        raise RefreshTokenInvalidError()
    if row.used_at is None and row.revoked_at is None and row.expires_at <= now:
        raise RefreshTokenExpiredError()
    outcome, rotation = await _spend(row, ttl_seconds, now)
    if outcome is not _Outcome.ROTATED:
        # Outside the spending transaction, so the revocation commits whatever we answer.
        await revoke_family(row.family_id, now=now)
    if outcome is _Outcome.REUSED:
        reused = RefreshTokenReusedError()
        reused.user_id = row.user_id  # type: ignore[attr-defined]
        raise reused
    if outcome is _Outcome.INACTIVE or rotation is None:
        raise AccountInactiveError()
    return rotation


async def _spend(
    row: RefreshToken, ttl_seconds: int, now: datetime
) -> tuple[_Outcome, Rotation | None]:
    async with in_transaction():
        spent = await RefreshToken.filter(
            id=row.id, used_at__isnull=True, revoked_at__isnull=True
        ).update(used_at=now)
        if spent != 1:
            return _Outcome.REUSED, None
        user = await User.get_or_none(id=row.user_id, is_active=True)  # type: ignore[attr-defined]
        if user is None:
            # The token stays spent and the caller revokes its family: no session survives.
            return _Outcome.INACTIVE, None
        successor = await _store(user.id, row.family_id, ttl_seconds, now)
        return _Outcome.ROTATED, Rotation(user, successor)


async def revoke(token: str, *, now: datetime) -> int | None:
    """Log out: revoke the family of this token; its user (None: an unknown token)."""
    row = await RefreshToken.get_or_none(token_hash=token_hash(token))
    if row is None:
        return None
    await revoke_family(row.family_id, now=now)
    return int(row.user_id)  # type: ignore[attr-defined]
