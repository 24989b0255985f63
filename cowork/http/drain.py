"""A graceful stop: leave the load balancer, finish in-flight work, release clients, exit.

SIGTERM → `/readyz` answers 503; behind a proxy, requests HAProxy may replay (GET, HEAD,
writes with an Idempotency-Key) get 503 `node_draining` and are replayed on another node; the
rest are served for `drain_grace_seconds` while the checks mark the node down; in-flight
requests finish; then the services quiesce (actors finish their mailboxes, presence leaves,
SSE streams end and websockets close with 1001: clients resume on another node); connections
close after their last response; after the server stops the supervisor stops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from typing import Any

from sanic import HTTPResponse, Request, Sanic

from cowork.config import Environment
from cowork.domain.problems import Problem
from cowork.http.problems import problem_response
from cowork.services import Services

log = logging.getLogger("cowork.http.drain")


class InFlight:
    """Requests a node is handling, and the connections they came on, for a graceful stop.

    A streamed response (SSE) leaves the set when its headers go out: streams are closed by
    the realtime layer, not waited for. A request abandoned without a response (the client
    went away) leaves when it is collected.
    """

    def __init__(self) -> None:
        self._requests: weakref.WeakSet[Request] = weakref.WeakSet()
        self._open: weakref.WeakSet[Request] = weakref.WeakSet()
        self._idle = asyncio.Event()

    def __len__(self) -> int:
        return len(self._requests)

    def started(self, request: Request) -> None:
        self._open.add(request)
        if request.headers.get("upgrade", "").lower() != "websocket":
            self._requests.add(request)

    def finished(self, request: Request) -> None:
        self._requests.discard(request)
        if not self._requests:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> int:
        """Wait (at most `timeout`) until no request is in flight; how many are left."""
        deadline = time.monotonic() + timeout
        while self._requests and (left := deadline - time.monotonic()) > 0:
            self._idle.clear()
            # Re-checked now and then: an abandoned request leaves only when collected.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 0.5)):
                    await self._idle.wait()
        return len(self._requests)

    def close_connections(self) -> None:
        """Close idle keep-alive connections; the busy ones close after their response."""
        for request in list(self._open):
            stream: Any = request.stream
            if stream is not None and hasattr(stream, "keep_alive"):
                stream.keep_alive = False
            protocol: Any = request.transport.get_protocol() if request.transport else None
            if protocol is not None and hasattr(protocol, "close_if_idle"):
                protocol.close_if_idle()


_HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _replayable(request: Request) -> bool:
    """May a proxy send this request again elsewhere (haproxy.cfg allows L7 retries for)?"""
    return request.method in ("GET", "HEAD") or "idempotency-key" in request.headers


def _arm_stop_watchdog(seconds: float, loop: asyncio.AbstractEventLoop) -> None:
    """A stop must end: past `seconds`, print every task's stack and exit the process.

    Every step of the stop is bounded on its own, but a task that swallows its cancellation
    (Python 3.11's `asyncio.wait_for` does, when the awaited result and the cancel arrive
    together) would keep the process alive forever. Nothing is lost by exiting: committed
    events wait in the outbox for another node's relay.
    """

    def expire() -> None:
        print(f"cowork: stop did not finish in {seconds:.0f}s; exiting", file=sys.stderr)
        with contextlib.suppress(Exception):  # read from another thread: best effort
            for task in asyncio.all_tasks(loop):
                print(f"--- task {task.get_name()}", file=sys.stderr)
                task.print_stack(limit=6, file=sys.stderr)
        os._exit(70)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True  # never what keeps the process alive
    timer.start()


def install_drain(app: Sanic, services: Services) -> None:
    """SIGTERM: leave the load balancer, finish in-flight work, then let the stops run.

    Sanic runs before_server_stop listeners in reverse order of registration; priority puts
    `leave_pool` before all of them and `close_connections` after all of them:

      leave_pool         /readyz → 503; behind a proxy, requests HAProxy may replay (GET,
                         HEAD, writes with an Idempotency-Key) get 503 `node_draining` and are
                         replayed on another node; the rest are served for
                         `drain_grace_seconds` while the checks mark the node down; then
                         in-flight requests finish
      (payments, actors: finish their mailboxes and stop; realtime: presence leaves, SSE
       streams end and websockets close with 1001; clients resume on another node)
      close_connections  no keep-alive: each connection closes after its last response
    after_server_stop: relay publishes what the actors committed, hub and NATS drain, ORM closes.
    """
    settings = services.settings
    in_flight = InFlight()
    behind_proxy = settings.proxies_count > 0

    @app.on_request(priority=99)  # type: ignore[call-arg]
    async def track(request: Request) -> HTTPResponse | None:
        if (
            services.draining
            and behind_proxy
            and _replayable(request)
            and request.path not in _HEALTH_PATHS
        ):
            # HAProxy replays these on another node at once (retry-on 503), so the client
            # never sees this answer; anything else is still served here.
            return problem_response(Problem.NODE_DRAINING.error(), request)
        in_flight.started(request)
        return None

    @app.on_response(priority=99)
    async def untrack(request: Request, response: HTTPResponse) -> None:
        in_flight.finished(request)
        if services.draining:
            stream: Any = request.stream
            if hasattr(stream, "keep_alive"):  # HTTP/1: close after this response
                stream.keep_alive = False

    @app.listener("before_server_stop", priority=-100)  # lowest priority: runs first at stop
    async def leave_pool(app: Sanic) -> None:
        services.draining = True
        if settings.env is not Environment.TEST:  # in-process test servers share the process
            _arm_stop_watchdog(
                settings.drain_grace_seconds
                + settings.drain_timeout_seconds
                + float(app.config.GRACEFUL_SHUTDOWN_TIMEOUT)
                + settings.stop_watchdog_margin_seconds,
                asyncio.get_running_loop(),
            )
        if settings.drain_grace_seconds:
            log.info(
                "draining: /readyz answers 503; serving %.1fs more", settings.drain_grace_seconds
            )
            await asyncio.sleep(settings.drain_grace_seconds)
        left = await in_flight.wait_idle(settings.drain_timeout_seconds)
        if left:
            log.warning("draining: %d requests still running; stopping anyway", left)
        in_flight.close_connections()

        await services.quiesce()

    @app.listener("before_server_stop", priority=100)  # highest priority: runs last at stop
    async def close_connections(app: Sanic) -> None:
        in_flight.close_connections()
