"""A personal stream lives only as long as its right: until its token expires, and not a
moment after its user logs out, is demoted or deactivated (an auth-epoch change).

`StreamRight.end` is called once with the reason; the stream then sends a last event saying
why and closes. The client gets a new stream token (refused if the right is really gone) and
resumes with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cowork.accounts.epochs import UserStates
from cowork.accounts.tokens import Principal
from cowork.clock import Clock

TOKEN_EXPIRED = "token_expired"
REVOKED = "revoked"


class StreamRight:
    def __init__(
        self,
        users: UserStates,
        principal: Principal,
        clock: Clock,
        end: Callable[[str], None],
    ) -> None:
        self._end = end
        self.ended: str | None = None
        self._unwatch = users.watch(principal.user_id, lambda: self._finish(REVOKED))
        self._timer: asyncio.TimerHandle | None = None
        if principal.expires_at is not None:
            delay = max(0.0, (principal.expires_at - clock.now()).total_seconds())
            self._timer = asyncio.get_running_loop().call_later(delay, self._finish, TOKEN_EXPIRED)

    def _finish(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self.release()
            self._end(reason)

    def release(self) -> None:
        """The stream closed for another reason: stop watching."""
        self._unwatch()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
