"""Liveness, readiness, metrics and the public client configuration."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sanic import Blueprint, HTTPResponse, Request, json
from sanic.response import raw

from cowork.domain.problems import Problem
from cowork.http.auth import bearer_token
from cowork.http.context import services
from cowork.http.docs import Auth, Out, doc

bp = Blueprint("health")


@bp.get("/healthz")
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok", "node_id": services(request).settings.node_id})


@bp.get("/readyz")
async def readyz(request: Request) -> HTTPResponse:
    checks = {"database": await _database_ok(request), "nats": _nats_ok(request)}
    draining = services(request).draining
    ready = all(checks.values()) and not draining
    body = {
        "ready": ready,
        "checks": checks,
        "draining": draining,
        "node_id": services(request).settings.node_id,
    }
    return json(body, status=200 if ready else 503)


async def _database_ok(request: Request) -> bool:
    return await services(request).database.ok(timeout=2.0)


def _nats_ok(request: Request) -> bool:
    bus = services(request).bus
    return bus.is_connected


@bp.get("/metrics")
async def metrics(request: Request) -> HTTPResponse:
    """Prometheus metrics, for the configured scraper addresses or the metrics token only."""
    settings = services(request).settings
    address = request.remote_addr or request.ip
    token = bearer_token(request) or ""
    by_token = bool(settings.metrics_token) and hmac.compare_digest(token, settings.metrics_token)
    if address not in settings.metrics_addresses and not by_token:
        raise Problem.FORBIDDEN.error("Metrics are for the configured scrapers only.")
    body = generate_latest(services(request).metrics.registry)
    return raw(body, content_type=CONTENT_TYPE_LATEST)


class ClientConfig(Out):
    stripe_publishable_key: str
    stripe_js_url: str
    hold_ttl_seconds: int
    no_show_grace_seconds: int
    node_id: str


@bp.get("/api/v1/config")
@doc(
    "What a client needs to start (Stripe keys, limits)",
    tag="config",
    response=ClientConfig,
    auth=Auth.NONE,
)
async def client_config(request: Request) -> HTTPResponse:
    s = services(request).settings
    return json(
        {
            "stripe_publishable_key": s.stripe_publishable_key,
            "stripe_js_url": s.stripe_js_url,
            "hold_ttl_seconds": s.hold_ttl_seconds,
            "no_show_grace_seconds": s.no_show_grace_seconds,
            "node_id": s.node_id,
        }
    )
