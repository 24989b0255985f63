"""Wires the outbox relay and the per-node hub into the app's start and stop."""

from __future__ import annotations

from sanic import Sanic


def install(app: Sanic) -> None:
    """Placeholder until the realtime layer lands."""
