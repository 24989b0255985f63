"""Every blueprint of the API, in registration order."""

from __future__ import annotations

from importlib import import_module

from sanic import Blueprint

MODULES = (
    "health",
    "accounts",
    "catalogue",
    "manage",
    "reports",
    "bookings",
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
)


def blueprints() -> list[Blueprint]:
    return [import_module(f"cowork.http.{name}").bp for name in MODULES]
