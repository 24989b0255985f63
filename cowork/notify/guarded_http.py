"""HTTP through the outbound guard: an aiohttp session that can only reach allowed addresses."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from cowork.notify.outbound import OutboundGuard, OutboundRefusedError


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that connects only to addresses the guard accepts."""

    def __init__(self, guard: OutboundGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


def guarded_session(guard: OutboundGuard, *, limit: int, timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session whose every request (redirects too) passes the guard.

    aiohttp skips the resolver for literal IPs, so the URL of each request is also checked when
    it starts, and the target of each redirect before it is followed.
    """

    async def on_start(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        guard.check_url(str(params.url))

    async def on_redirect(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        location = params.response.headers.get("Location", "")
        try:
            guard.check_url(urljoin(str(params.url), location))
        except OutboundRefusedError:
            params.response.close()
            raise

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard), limit=limit)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        trace_configs=[trace],
    )
