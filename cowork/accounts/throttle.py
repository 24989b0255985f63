"""In-process login throttling: a sliding window of attempts per key, in a bounded table."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class AttemptThrottle:
    """At most `limit` unforgiven attempts per key within `window_seconds`.

    An attempt is counted when it starts (so concurrent guesses cannot slip past the
    check while a hash is being verified) and forgiven when it succeeds. The table keeps
    at most `max_keys` keys, dropping the least recently touched; HAProxy's stick table
    is the cluster-wide limit, this one protects each node on its own.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float = 60.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit, window_seconds and max_keys must be positive")
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._attempts)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        attempts = self._attempts.get(key)
        if attempts is None:
            return None
        while attempts and attempts[0] <= now - self.window:
            attempts.popleft()
        if not attempts:
            del self._attempts[key]
            return None
        return attempts

    def attempt(self, key: str) -> float | None:
        """Count an attempt; None if allowed, else the seconds until one is allowed again."""
        now = self._clock()
        attempts = self._recent(key, now)
        if attempts is not None and len(attempts) >= self.limit:
            return max(attempts[0] + self.window - now, 0.0)
        if attempts is None:
            attempts = self._attempts[key] = deque(maxlen=self.limit)
            self._evict()
        attempts.append(now)
        self._attempts.move_to_end(key)
        return None

    def undo(self, key: str) -> None:
        """Take back the latest attempt of a key (it succeeded), keeping the earlier ones."""
        attempts = self._attempts.get(key)
        if attempts:
            attempts.pop()
            if not attempts:
                del self._attempts[key]

    def forgive(self, key: str) -> None:
        """Forget a key's attempts (the last one succeeded)."""
        self._attempts.pop(key, None)

    def _evict(self) -> None:
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
