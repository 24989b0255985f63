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
    "payments",
    "streams",
    "kiosks",
    "notifications",
    "analytics",
    "admin",
    "web",
)


def blueprints() -> list[Blueprint]:
    found: list[Blueprint] = []
    for name in MODULES:
        try:
            module = import_module(f"cowork.http.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cowork.http.{name}":
                raise
            continue  # a resource not built yet
        found.append(module.bp)
    return found
