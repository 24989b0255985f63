"""The node's services as a handler sees them: one typed accessor, no lookups by name."""

from __future__ import annotations

from sanic import Request

from cowork.services import Services


def services(request: Request) -> Services:
    node: Services = request.app.ctx.services
    return node
