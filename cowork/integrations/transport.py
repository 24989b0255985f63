"""How webhook deliveries leave the node: the small interface the sender and the actions use,
and its HTTP implementation behind the outbound-address guard shared with push endpoints
(`cowork.notify.outbound`: in production only https to public addresses, checked when a URL
is registered and again at connect time)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp

from cowork.notify.guarded_http import guarded_session
from cowork.notify.outbound import OutboundGuard, OutboundRefusedError

ERROR_LENGTH = 300


class DeliveryFailedError(Exception):
    """No HTTP answer came back (refused address, connection error, timeout)."""


class Transport(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def check(self, url: str) -> None:
        """Raise OutboundRefusedError if deliveries may not go to `url`."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST once (no redirects followed); the status code, or DeliveryFailedError."""


class HttpTransport:
    """aiohttp, one guarded session per node."""

    def __init__(self, guard: OutboundGuard, *, timeout: float, limit: int) -> None:
        self._guard = guard
        self._timeout = timeout
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = guarded_session(self._guard, limit=self._limit, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, url: str) -> None:
        await self._guard.check(url)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        await self.open()
        assert self._session is not None
        try:
            async with self._session.post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                # The body is not read: a receiver's answer is its status (a long body would
                # only cost us; the connection is closed instead of reused).
                return response.status
        except OutboundRefusedError as exc:
            raise DeliveryFailedError(f"refused ({exc.reason}): {exc.detail}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailedError(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_LENGTH]
