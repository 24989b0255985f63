"""Who a token's user is *now*: role, activation and auth epoch, cached per node for a second.

Tokens carry the role and the auth epoch they were issued under; every request is judged
against the user's current state instead. Changes that must end existing tokens (role change,
deactivation, password change, logout, refresh-token reuse) bump `users.auth_epoch`; the node
that made the change tells every node over NATS (`ctl.users.changed`) so their caches drop the
user at once, and a cached state is never older than `max_age` even if that message is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.accounts.passwords import AccountInactiveError
from cowork.accounts.tokens import Principal, Role
from cowork.domain.problems import Problem
from cowork.store.db import db

MAX_ENTRIES = 50_000
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True, slots=True)
class UserState:
    role: Role
    active: bool
    epoch: int


async def bump_epoch(user_id: int, conn: BaseDBAsyncClient | None = None) -> None:
    """End every access and stream token the user holds (in the caller's transaction)."""
    await (conn or db()).execute_query(
        "UPDATE users SET auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = $1",
        [user_id],
    )


class UserStates:
    def __init__(
        self, max_age: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age
        self._now = monotonic
        self._cache: dict[int, tuple[float, UserState | None]] = {}
        self._watchers: dict[int, set[Callable[[], None]]] = {}

    async def get(self, user_id: int) -> UserState | None:
        """The user's current state (None: no such user)."""
        cached = self._cache.get(user_id)
        if cached is not None and self._now() - cached[0] < self._max_age:
            return cached[1]
        rows = await db().execute_query_dict(
            "SELECT role, is_active, auth_epoch FROM users WHERE id = $1", [user_id]
        )
        state = (
            UserState(Role(rows[0]["role"]), rows[0]["is_active"], rows[0]["auth_epoch"])
            if rows
            else None
        )
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[user_id] = (self._now(), state)
        return state

    def invalidate(self, user_id: int) -> None:
        """The user changed (here or on another node): forget, and tell their open streams."""
        self._cache.pop(user_id, None)
        for callback in list(self._watchers.get(user_id, ())):
            callback()

    def watch(self, user_id: int, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` whenever this user changes; returns the function that stops it."""
        self._watchers.setdefault(user_id, set()).add(callback)

        def unwatch() -> None:
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(callback)
                if not watchers:
                    del self._watchers[user_id]

        return unwatch


async def current_principal(states: UserStates, claimed: Principal) -> Principal:
    """The token's user as they are now: refused when gone, deactivated, or when the token
    predates a logout, password change, demotion or deactivation (its epoch is old)."""
    state = await states.get(claimed.user_id)
    if state is None:
        raise Problem.TOKEN_REVOKED.error("The account no longer exists.")
    if not state.active:
        raise AccountInactiveError()
    if state.epoch != claimed.epoch:
        raise Problem.TOKEN_REVOKED.error(
            "Sign in again.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return replace(claimed, role=state.role)
