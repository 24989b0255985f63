"""Helpers for the realtime tests (no tests here): SSE and websocket clients, event writers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets
from tortoise.transactions import in_transaction

from cowork.accounts.tokens import Principal, Role, TokenKind, issue, utcnow
from cowork.store.events import BookingFacts, emit_booking_event
from tests.conftest import TLS

TIMEOUT = 15.0


@dataclass(frozen=True)
class SseEvent:
    id: int | None
    event: str
    data: dict[str, Any]


class SseClient:
    """An EventSource-like reader over a real HTTP connection."""

    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(TIMEOUT, read=None), verify=TLS
        )
        self._path = path
        self._headers = headers or {}
        self._params = params or {}
        self._stack = contextlib.AsyncExitStack()
        self.response: httpx.Response | None = None
        self.comments = 0

    async def __aenter__(self) -> SseClient:
        await self._stack.enter_async_context(self._http)
        self.response = await self._stack.enter_async_context(
            self._http.stream("GET", self._path, headers=self._headers, params=self._params)
        )
        self._lines = self.response.aiter_lines()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._stack.aclose()

    async def next(self, timeout: float = TIMEOUT, *, keep_presence: bool = False) -> SseEvent:
        """The next event (comments and, unless asked, presence events skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._read_one()
                if event is None or (event.event == "presence" and not keep_presence):
                    continue
                return event

    async def _read_one(self) -> SseEvent | None:
        """One event, or None for a comment line."""
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if "data" in fields:
                    raw_id = fields.get("id")
                    return SseEvent(
                        int(raw_id) if raw_id else None,
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                continue
            if line.startswith(":"):
                self.comments += 1
                return None
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        raise EOFError("stream ended")

    async def take(self, n: int, timeout: float = TIMEOUT) -> list[SseEvent]:
        return [await self.next(timeout) for _ in range(n)]

    async def wait_comment(self, timeout: float = TIMEOUT) -> None:
        """Read until a comment (a heartbeat) arrives."""
        seen = self.comments
        async with asyncio.timeout(timeout):
            while self.comments == seen:
                await self._read_one()


class WsClient:
    def __init__(self, base_url: str) -> None:
        self.url = base_url.replace("http://", "ws://") + "/api/v1/ws"
        self.ws: Any = None

    async def __aenter__(self) -> WsClient:
        self.ws = await websockets.connect(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            return json.loads(await self.ws.recv())

    async def expect(self, type_: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message of this type (events of type presence are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv(timeout)
                if msg["type"] == "event" and msg["event"]["type"] == "presence":
                    continue
                if msg["type"] == type_:
                    return msg
                raise AssertionError(f"expected {type_}, got {msg}")

    async def events(self, n: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        return [(await self.expect("event", timeout))["event"] for _ in range(n)]


def booking_facts(
    space: Any, user_id: int, booking_id: int, *, status: str = "held", hours: int = 24
) -> BookingFacts:
    start = datetime(2031, 1, 1, 9, tzinfo=UTC) + timedelta(hours=hours)
    return BookingFacts(
        id=booking_id,
        space_id=space.id,
        location_id=space.location_id,
        user_id=user_id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        status=status,
        price_cents=1500,
        currency="EUR",
        expires_at=start - timedelta(hours=1) if status == "held" else None,
    )


async def emit(app: Any, event_type: str, facts: BookingFacts, **extra: Any) -> None:
    """Write one change's outbox rows in a transaction and wake the relay, like an actor."""
    async with in_transaction() as conn:
        await emit_booking_event(conn, event_type, facts, **extra)
    app.ctx.services.relay.wake()


async def emit_many(app: Any, space: Any, user_id: int, n: int, first_id: int = 1000) -> None:
    for i in range(n):
        await emit(app, "booking.held", booking_facts(space, user_id, first_id + i, hours=i))


def stream_token(
    settings: Any,
    user_id: int,
    *,
    ttl: int = 300,
    kind: TokenKind = TokenKind.STREAM,
    secret: str | None = None,
    now: datetime | None = None,
) -> str:
    return issue(
        secret or settings.jwt_secret,
        Principal(user_id, Role.MEMBER),
        kind,
        ttl,
        now=now or utcnow(),
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT, what: str = "condition"
) -> None:
    """Poll an async condition until true (each check awaits I/O, so no sleep is needed)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
