"""What a node knows has changed, and the encoded reads that stay good until something does.

Every local commit (`Services.committed`) and every event the hub receives from the stream
(any node's commit) moves `ReadCache.epoch`; a cached answer is served only at the epoch it
was computed in and for at most `max_age` by the node's clock (which bounds what no event
announces: the clock passing a booking's start, a row written outside the API).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cowork.clock import Clock

MAX_ENTRIES = 4096
TIMELESS_FACTOR = 30


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


@dataclass(frozen=True, slots=True)
class Encoded:
    body: bytes
    etag: str
    epoch: int
    expires: datetime


class ReadCache:
    def __init__(self, clock: Clock, max_age: timedelta) -> None:
        self._clock = clock
        self.max_age = max_age
        self.epoch = 0
        self._entries: dict[str, Encoded] = {}

    @property
    def enabled(self) -> bool:
        return self.max_age > timedelta(0)

    def changed(self) -> None:
        """Something a cached read may show changed: every entry is now old."""
        self.epoch += 1
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()

    def get(self, key: str) -> Encoded | None:
        entry = self._entries.get(key)
        if entry is None or entry.epoch != self.epoch or self._clock.now() >= entry.expires:
            return None
        return entry

    def put(self, key: str, body: bytes, *, timeless: bool = False) -> Encoded:
        """Keep `body` for `key`; a `timeless` answer (one no clock can change, only an edit)
        is kept TIMELESS_FACTOR times longer."""
        age = self.max_age * (TIMELESS_FACTOR if timeless else 1)
        entry = Encoded(body, etag_of(body), self.epoch, self._clock.now() + age)
        if self.enabled:
            self._entries[key] = entry
        return entry
