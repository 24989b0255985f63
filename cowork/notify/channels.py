"""What every delivery channel (Web Push, FCM, APNs, e-mail) promises the worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cowork.domain.delivery import Outcome, classify_http, retry_after_seconds
from cowork.notify.render import PushMessage
from cowork.store.notify import DeviceRow


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait
    detail: str = ""


def http_result(
    status: int | None,
    retry_after: str | None,
    now: datetime,
    *,
    unregistered: bool = False,
    detail: str = "",
) -> SendResult:
    """A push service's HTTP answer as a result (the domain decides what it means)."""
    return SendResult(
        classify_http(status, unregistered=unregistered),
        status,
        retry_after_seconds(retry_after, now),
        detail[:500],
    )


class PushSender(Protocol):
    kind: str  # the device kind it serves: webpush | fcm | apns

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, device: DeviceRow, message: PushMessage) -> SendResult: ...


class Lane:
    """A provider's share of the node: at most `limit` requests in flight, never waited for.

    The worker takes a slot only when one is free; a delivery that finds its lane full stays
    in the log for the next pass, so a slow provider never holds up events for the others.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def free(self) -> int:
        return self.limit - self._busy

    def try_take(self) -> bool:
        if self._busy >= self.limit:
            return False
        self._busy += 1
        self._idle.clear()
        return True

    def give_back(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()
