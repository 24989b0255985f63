"""Sign-in sessions: token pairs, refresh rotation, logout; ending a session ends its tokens.

Access and stream tokens are judged against the user's auth epoch on every request
(cowork.accounts.epochs): logout and a detected refresh-token reuse bump it, so the access
tokens already handed out stop working at once, on every node.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cowork.accounts import refresh
from cowork.accounts.epochs import bump_epoch
from cowork.accounts.refresh import RefreshTokenReusedError
from cowork.accounts.tokens import Principal, Role, TokenKind, issue
from cowork.actions.effects import Effects
from cowork.config import Settings
from cowork.store.models import User


def token_pair(settings: Settings, user: User, refresh_token: str, now: datetime) -> dict[str, Any]:
    """The login answer: a short-lived access token under the user's current epoch."""
    principal = Principal(user.id, Role(user.role), user.auth_epoch)
    ttl = settings.access_token_ttl_seconds
    access = issue(settings.jwt_secret, principal, TokenKind.ACCESS, ttl, now=now)
    return {
        "access_token": access,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": ttl,
    }


async def sign_in(fx: Effects, settings: Settings, user: User) -> dict[str, Any]:
    now = fx.clock.now()
    token = await refresh.start_family(user, settings.refresh_token_ttl_seconds, now=now)
    return token_pair(settings, user, token, now)


async def rotate(fx: Effects, settings: Settings, refresh_token: str) -> dict[str, Any]:
    """Spend a refresh token for a new pair; a reused one ends every session of its user."""
    now = fx.clock.now()
    try:
        rotation = await refresh.rotate(refresh_token, settings.refresh_token_ttl_seconds, now=now)
    except RefreshTokenReusedError as reused:
        if reused.user_id is not None:
            await end_access(fx, reused.user_id)
        raise
    return token_pair(settings, rotation.user, rotation.refresh_token, now)


async def sign_out(fx: Effects, refresh_token: str) -> None:
    """Revoke the login's refresh tokens and end the access tokens already issued."""
    user_id = await refresh.revoke(refresh_token, now=fx.clock.now())
    if user_id is not None:
        await end_access(fx, user_id)


async def end_access(fx: Effects, user_id: int) -> None:
    """Every access and stream token of the user stops working, on every node, now."""
    await bump_epoch(user_id)
    await fx.users_changed(user_id)
