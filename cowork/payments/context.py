"""What payment code needs from the running node: the gateway, the space actors, the relay."""

from __future__ import annotations

from collections.abc import Callable

from cowork.actors.registry import ActorRegistry
from cowork.config import Settings
from cowork.payments.gateway import PaymentsNotConfiguredError, StripeGateway


class Payments:
    def __init__(
        self, settings: Settings, registry: ActorRegistry, committed: Callable[[], None]
    ) -> None:
        self.settings = settings
        self.registry = registry
        self._committed = committed
        self.gateway: StripeGateway | None = (
            StripeGateway(settings) if settings.stripe_secret_key else None
        )

    def stripe(self) -> StripeGateway:
        if self.gateway is None:
            raise PaymentsNotConfiguredError("STRIPE_SECRET_KEY is not set on this node.")
        return self.gateway

    def committed(self) -> None:
        """Outbox rows were committed: let the relay publish them now."""
        self._committed()

    async def close(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
