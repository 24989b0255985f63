"""Recording a storm: every request and its answer with wall-clock times, and every event each
subscribed stream delivered (across reconnects, as an EventSource would resume).

A request without an answer (connection reset, timeout) is recorded with `status=None`: its
effect is unknown, and the checker allows for both outcomes (Jepsen's "info" operations).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from tests.integration.test_realtime_support import SseClient, SseEvent

PROXY_CODES = frozenset({"proxy_bad_gateway", "proxy_unavailable", "proxy_timeout"})


def now() -> datetime:
    """History times are wall-clock UTC, comparable with the database's timestamps."""
    return datetime.now(UTC)


@dataclass
class Op:
    """One request: what was asked, when, and what (if anything) came back."""

    n: int
    kind: str  # hold | cancel | refund | ... (what the checker judges it as)
    client: int
    method: str
    url: str
    body: dict[str, Any] | None
    key: str | None  # Idempotency-Key
    invoked: datetime
    completed: datetime | None = None
    status: int | None = None  # None: no answer, the outcome is unknown
    headers: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # space_id, user_id, slot, ...

    @property
    def code(self) -> str | None:
        if isinstance(self.answer, dict) and "code" in self.answer:
            return str(self.answer["code"])
        return None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def indeterminate(self) -> bool:
        """No answer, a 5xx, or "your first attempt is still running": the write may or may
        not have happened."""
        return self.status is None or self.status >= 500 or self.code == "idempotency_key_in_flight"

    @property
    def served_by(self) -> str | None:
        return self.headers.get("x-served-by")

    def __str__(self) -> str:
        what = self.status if self.status is not None else f"no answer ({self.error})"
        return f"#{self.n} {self.kind} {self.method} {self.url} {self.meta} -> {what} {self.code}"


class History:
    """Every operation of a storm, in invocation order."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._numbers = itertools.count(1)

    async def call(
        self,
        http: aiohttp.ClientSession,
        kind: str,
        method: str,
        url: str,
        *,
        client: int = 0,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **meta: Any,
    ) -> Op:
        headers = dict(headers or {})
        op = Op(
            next(self._numbers),
            kind,
            client,
            method,
            url,
            json_body,
            headers.get("Idempotency-Key"),
            now(),
            meta=meta,
        )
        self.ops.append(op)
        try:
            async with http.request(method, url, json=json_body, headers=headers) as r:
                raw = await r.read()
                op.headers = {k.lower(): v for k, v in r.headers.items()}
                op.status = r.status
                with contextlib.suppress(ValueError):
                    op.answer = json.loads(raw) if raw else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            op.error = type(exc).__name__
        op.completed = now()
        return op

    def of(self, kind: str) -> list[Op]:
        return [op for op in self.ops if op.kind == kind]

    def statuses(self) -> Counter[str]:
        return Counter(str(op.status) if op.status is not None else "none" for op in self.ops)

    def answers(self, kind: str, status: int) -> list[Op]:
        return [op for op in self.ops if op.kind == kind and op.status == status]


class StreamRecorder:
    """Reads one SSE stream in the background and resumes it with Last-Event-ID on the next
    URL when it ends (the node drained, died, or cut the client), as EventSource does."""

    def __init__(
        self,
        urls: Sequence[str],
        path: str,
        *,
        name: str | None = None,
        last_event_id: int | None = None,
    ) -> None:
        self.urls = list(urls)
        self.path = path
        self.name = name or f"{urls[0]}{path}"
        self.events: list[SseEvent] = []
        self._resume_from = last_event_id  # 0: replay everything the stream retains
        self.reconnects = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def __aenter__(self) -> StreamRecorder:
        self._task = asyncio.create_task(self._run(), name=f"recorder:{self.name}")
        await asyncio.wait_for(self.connected.wait(), timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def last_id(self) -> int | None:
        ids = [e.id for e in self.events if e.id is not None]
        return max(ids) if ids else self._resume_from

    def booking_events(self, event_type: str) -> list[int]:
        return [e.data["data"]["booking_id"] for e in self.events if e.event == event_type]

    async def _run(self) -> None:
        for attempt in itertools.count():
            url = self.urls[attempt % len(self.urls)]
            headers = {} if self.last_id is None else {"Last-Event-ID": str(self.last_id)}
            try:
                async with SseClient(url, self.path, headers=headers) as sse:
                    assert sse.response is not None
                    if sse.response.status_code != 200:
                        raise ConnectionError(f"stream answered {sse.response.status_code}")
                    if attempt:
                        self.reconnects += 1
                    self.connected.set()
                    while True:
                        self.events.append(await sse.next(timeout=3600))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 (ended or refused: resume elsewhere, like a browser)
                if self._stopping:
                    return
                await asyncio.sleep(0.2)  # EventSource's retry delay
