"""Every blueprint of the API, in registration order."""

from __future__ import annotations

from importlib import import_module

from sanic import Blueprint

MODULES = (
    "health",
    "accounts",
    "password_reset",
    "catalogue",
    "manage",
    "reports",
    "bookings",
    "waitlist",
    "series",
    "approvals",
    "quotes",
    "payments",
    "streams",
    "kiosks",
    "notifications",
    "feeds",
    "webhooks",
    "devices",
    "analytics",
    "admin",
    "web",
    "devcard",
    "devmail",
    "openapi",
)


def blueprints() -> list[Blueprint]:
    return [with_head(import_module(f"cowork.http.{name}").bp) for name in MODULES]


def with_head(bp: Blueprint) -> Blueprint:
    """HEAD is answered wherever GET is (the same handler; Sanic sends no body for HEAD)."""
    bp._future_routes = {
        route._replace(methods=frozenset({*route.methods, "HEAD"}))
        if route.methods and "GET" in route.methods
        else route
        for route in bp._future_routes
    }
    return bp
