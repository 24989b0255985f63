"""A webhook receiver the tests run: a real HTTP server on a free loopback port that records
every request and answers as told (fail the first N tries of each message, or always)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cowork.devstack import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    fail_first: int = 0  # per webhook-id: answer 500 to this many tries, then 204
    always_fail: bool = False
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        tries = Counter(r.message_id for r in self.received)[headers.get("webhook-id", "")]
        failing = self.always_fail or tries < self.fail_first
        status = 500 if failing else 204
        self.received.append(Received(headers, body, status))
        return web.Response(status=status)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def succeeded(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.answered < 300]

    def of(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message_id == message_id]
