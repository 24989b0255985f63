"""What payment code needs from the running node: the gateway, the actors, the relay."""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from cowork.actors.registry import ActorRegistry
from cowork.config import Settings
from cowork.payments.gateway import PaymentsNotConfiguredError, StripeGateway


class Payments:
    def __init__(self, app: Sanic[Any, Any]) -> None:
        self._app = app
        self.settings: Settings = app.ctx.settings
        self.gateway: StripeGateway | None = (
            StripeGateway(self.settings) if self.settings.stripe_secret_key else None
        )

    @property
    def registry(self) -> ActorRegistry:
        registry: ActorRegistry = self._app.ctx.registry
        return registry

    def stripe(self) -> StripeGateway:
        if self.gateway is None:
            raise PaymentsNotConfiguredError("STRIPE_SECRET_KEY is not set on this node.")
        return self.gateway

    def committed(self) -> None:
        """Outbox rows were committed: let the relay publish them now."""
        relay = getattr(self._app.ctx, "relay", None)
        if relay is not None:
            relay.wake()

    async def close(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()


def payments_of(app: Sanic[Any, Any]) -> Payments:
    """The node's Payments (made by the lifecycle; made here on first use if it was not)."""
    payments = getattr(app.ctx, "payments", None)
    if payments is None:
        payments = app.ctx.payments = Payments(app)
    assert isinstance(payments, Payments)
    return payments
