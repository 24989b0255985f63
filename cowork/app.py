"""The application factory: settings in, a wired Sanic app out. Nothing runs at import."""

from __future__ import annotations

import logging
import re
import time
import uuid
from itertools import count
from typing import Any

from sanic import HTTPResponse, Request, Sanic

from cowork import logs
from cowork.clock import Clock, SystemClock
from cowork.config import Environment, Settings
from cowork.http.auth import authenticate
from cowork.http.drain import install_drain
from cowork.http.parsing import check_path_ids
from cowork.http.problems import install_error_handlers
from cowork.metrics import route_group
from cowork.services import Services, build_services

log = logging.getLogger("cowork.app")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_app_numbers = count(1)


def create_app(settings: Settings, *, clock: Clock | None = None) -> Sanic:
    # Logging is ours (cowork.logs): JSON lines, configured once by the CLI.
    app = Sanic(f"cowork_{next(_app_numbers)}", configure_logging=False)
    services = build_services(settings, clock or SystemClock())
    app.ctx.services = services
    _configure(app, settings)
    install_error_handlers(app)
    _install_middleware(app, services)
    install_drain(app, services)
    _install_lifecycle(app, services)
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
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.shutdown_timeout_seconds
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
    # The OpenAPI document and /docs are ours (cowork.http.openapi), not sanic-ext's.
    app.config.OAS = False
    app.config.HEALTH = False
    # Behind HAProxy (`option forwardfor`): request.remote_addr is the client, not the proxy.
    app.config.PROXIES_COUNT = settings.proxies_count


def _install_middleware(app: Sanic, services: Services) -> None:
    # Per request only what must differ per request: label children, route groups and the id
    # prefix are looked up once (docs/benchmarks.md, "Per-request overhead").
    metrics = services.metrics
    counters: dict[tuple[str, str, int], Any] = {}
    timers: dict[str, Any] = {}
    groups: dict[str, str] = {}
    id_prefix = uuid.uuid4().hex[:12]
    serial = count(1)

    @app.on_request(priority=100)  # type: ignore[call-arg]
    async def request_id(request: Request) -> None:
        incoming = request.headers.get("x-request-id")
        request.ctx.request_id = (
            incoming
            if incoming and _REQUEST_ID.match(incoming)
            else f"{id_prefix}{next(serial):010x}"
        )
        request.ctx.started = time.perf_counter()
        await authenticate(request)

    @app.on_request(priority=90)  # type: ignore[call-arg]
    async def bounded_ids(request: Request) -> None:
        check_path_ids(request)  # an id beyond its column never reaches an actor or asyncpg

    @app.on_response(priority=100)
    async def finish(request: Request, response: HTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            response.headers["x-request-id"] = request_id
        response.headers.setdefault("x-content-type-options", "nosniff")
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        route = request.route
        if route is None:  # unrouted (404): any path, so nothing is remembered for it
            group = route_group(request.path)
        else:
            known = groups.get(route.path)
            group = (
                known
                if known is not None
                else groups.setdefault(route.path, route_group("/" + route.path))
            )
        status = response.status
        counter = counters.get((group, request.method, status))
        if counter is None:
            counter = counters[(group, request.method, status)] = metrics.requests.labels(
                group, request.method, str(status)
            )
        counter.inc()
        timer = timers.get(group)
        if timer is None:
            timer = timers[group] = metrics.latency.labels(group)
        timer.observe(elapsed)
        logs.access(request_id, request.method, request.path, status, elapsed)


def _install_lifecycle(app: Sanic, services: Services) -> None:
    # The supervisor owns every background service (cowork.services); Sanic only says when.
    @app.before_server_start
    async def start(app: Sanic) -> None:
        await services.start()

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await services.stop()


def _install_blueprints(app: Sanic) -> None:
    from cowork.http import routes

    for blueprint in routes.blueprints():
        app.blueprint(blueprint)
