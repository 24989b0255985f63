"""Stripe's idempotency, in front of localstripe (which ignores Idempotency-Key).

Real Stripe answers a POST repeated with the same Idempotency-Key with the first answer and
does nothing twice; our gateway relies on it (the SDK retries a timed-out request once with
the same key). Without this layer a latency test would count the fake's missing feature as our
double refund. Put it only where a test means Stripe as it is; a test of our own leases talks
to localstripe directly, so that a second send shows up as a second refund.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import ClientSession, web

from tests.faults.proxy import network_loop


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str


class IdempotentStripe:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = 0
        self.replayed = 0  # POSTs answered from the cache (a retry Stripe would have deduped)
        self._answers: dict[str, _Answer] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> IdempotentStripe:
        asyncio.run_coroutine_threadsafe(self._start(), network_loop()).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), network_loop()).result(timeout=10)

    async def _start(self) -> None:
        self._http = ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _handle(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return self._respond(await self._forward(request))
        async with self._locks.setdefault(key, asyncio.Lock()):  # concurrent retries wait
            if key in self._answers:
                self.replayed += 1
            else:
                self._answers[key] = await self._forward(request)
            return self._respond(self._answers[key])

    async def _forward(self, request: web.Request) -> _Answer:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        async with self._http.request(
            request.method,
            f"{self.upstream}{request.rel_url}",
            data=await request.read(),
            headers=headers,
        ) as r:
            return _Answer(r.status, await r.read(), r.content_type)

    @staticmethod
    def _respond(answer: _Answer) -> web.Response:
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )
