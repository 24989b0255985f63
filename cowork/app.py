"""The application factory: settings in, a wired Sanic app out. Nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
import time
import uuid
import weakref
from itertools import count
from typing import Any

from sanic import HTTPResponse, Request, Sanic

from cowork.actors import lifecycle as actors_lifecycle
from cowork.actors.clock import Clock, SystemClock
from cowork.config import Environment, Settings
from cowork.domain.problems import Problem
from cowork.http.docs import SCHEMAS
from cowork.http.problems import install_error_handlers, problem_response
from cowork.metrics import Metrics, route_group
from cowork.payments import lifecycle as payments_lifecycle
from cowork.realtime import lifecycle as realtime_lifecycle
from cowork.realtime.bus import Bus
from cowork.store.db import close_orm, init_orm

log = logging.getLogger("cowork.app")
access_log = logging.getLogger("cowork.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_app_numbers = count(1)


def create_app(settings: Settings, *, clock: Clock | None = None) -> Sanic:
    # Logging is ours (cowork.logs): JSON lines, configured once by the CLI.
    app = Sanic(f"cowork_{next(_app_numbers)}", configure_logging=False)
    app.ctx.settings = settings
    app.ctx.clock = clock or SystemClock()
    app.ctx.metrics = Metrics()
    app.ctx.draining = False
    _configure(app, settings)
    install_error_handlers(app)
    _install_middleware(app)
    _install_drain(app, settings)
    _install_lifecycle(app, settings)
    _install_blueprints(app)
    return app


def _configure(app: Sanic, settings: Settings) -> None:
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    # Touchup rewrites Sanic's class once per process; tests run many apps in one process.
    app.config.TOUCHUP = settings.env is not Environment.TEST
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.RESPONSE_TIMEOUT = 3600  # SSE streams live long; HAProxy enforces idle limits
    app.config.REQUEST_TIMEOUT = 30
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 10.0
    app.config.WEBSOCKET_PING_INTERVAL = 20
    # sanic-ext adds a HEAD and an OPTIONS route per route after the router is built, which
    # costs seconds per start; OPTIONS is needed only to answer CORS preflights.
    app.config.HTTP_AUTO_HEAD = False
    app.config.HTTP_AUTO_OPTIONS = bool(settings.cors_origins)
    app.config.CORS = bool(settings.cors_origins)
    app.config.CORS_ORIGINS = ",".join(settings.cors_origins)
    app.config.CORS_ALLOW_HEADERS = (
        "authorization,content-type,idempotency-key,last-event-id,x-request-id"
    )
    app.config.CORS_EXPOSE_HEADERS = "x-request-id,retry-after,location"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = False
    app.config.HEALTH = False
    # Behind HAProxy (`option forwardfor`): request.remote_addr is the client, not the proxy.
    app.config.PROXIES_COUNT = settings.proxies_count
    app.ext.openapi.describe(
        "cowork API",
        version="1.0.0",
        description="Realtime coworking bookings. Errors are application/problem+json.",
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")


def _install_middleware(app: Sanic) -> None:
    @app.on_request(priority=100)  # type: ignore[call-arg]
    async def request_id(request: Request) -> None:
        incoming = request.headers.get("x-request-id", "")
        request.ctx.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.ctx.started = time.perf_counter()

    @app.on_response(priority=100)
    async def finish(request: Request, response: HTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            response.headers["x-request-id"] = request_id
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        group = route_group(request.path)
        metrics: Metrics = app.ctx.metrics
        metrics.requests.labels(group, request.method, str(response.status)).inc()
        metrics.latency.labels(group).observe(elapsed)
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )


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


STOP_WATCHDOG_MARGIN_SECONDS = 10.0
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


def _install_drain(app: Sanic, settings: Settings) -> None:
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
    in_flight = InFlight()
    app.ctx.in_flight = in_flight
    behind_proxy = settings.proxies_count > 0

    @app.on_request(priority=99)  # type: ignore[call-arg]
    async def track(request: Request) -> HTTPResponse | None:
        if (
            app.ctx.draining
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
        if app.ctx.draining:
            stream: Any = request.stream
            if hasattr(stream, "keep_alive"):  # HTTP/1: close after this response
                stream.keep_alive = False

    @app.listener("before_server_stop", priority=-100)  # lowest priority: runs first at stop
    async def leave_pool(app: Sanic) -> None:
        app.ctx.draining = True
        if settings.env is not Environment.TEST:  # in-process test servers share the process
            _arm_stop_watchdog(
                settings.drain_grace_seconds
                + settings.drain_timeout_seconds
                + float(app.config.GRACEFUL_SHUTDOWN_TIMEOUT)
                + STOP_WATCHDOG_MARGIN_SECONDS,
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

    @app.listener("before_server_stop", priority=100)  # highest priority: runs last at stop
    async def close_connections(app: Sanic) -> None:
        in_flight.close_connections()


def _install_lifecycle(app: Sanic, settings: Settings) -> None:
    # Sanic runs before_server_start listeners in order and after_server_stop in reverse.
    @app.before_server_start
    async def start_orm(app: Sanic) -> None:
        await init_orm(settings)
        app.ext.openapi.raw({"components": {"schemas": SCHEMAS}})

    @app.before_server_start
    async def start_bus(app: Sanic) -> None:
        app.ctx.bus = Bus(settings.nats_url, name=f"cowork-{settings.node_id}")
        if settings.nats_url:
            await app.ctx.bus.connect()

    @app.after_server_stop
    async def stop_orm(app: Sanic) -> None:
        await close_orm()

    @app.after_server_stop
    async def stop_bus(app: Sanic) -> None:
        await app.ctx.bus.close()

    # Registered after the ORM and bus: started after them, stopped before them.
    realtime_lifecycle.install(app)  # outbox relay + hub
    actors_lifecycle.install(app)  # space actors + timer
    payments_lifecycle.install(app)  # Stripe gateway + refund retries (needs the actors)


def _install_blueprints(app: Sanic) -> None:
    from cowork.http import routes

    for blueprint in routes.blueprints():
        app.blueprint(blueprint)
