"""A node's outgoing webhooks: the transport, the intake (JetStream → log) and the sender
(log → receivers), started and stopped together by the supervisor."""

from __future__ import annotations

from cowork.clock import Clock
from cowork.config import Settings
from cowork.integrations.transport import HttpTransport, Transport
from cowork.integrations.webhook_intake import WebhookIntake
from cowork.integrations.webhook_sender import DisableEndpoint, WebhookSender
from cowork.metrics import Metrics
from cowork.notify.outbound import OutboundGuard, OutboundPolicy
from cowork.realtime.bus import Bus


class Webhooks:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        bus: Bus,
        metrics: Metrics,
        *,
        disable: DisableEndpoint,
        transport: Transport | None = None,
    ) -> None:
        w = settings.webhooks
        self.transport = transport or HttpTransport(
            OutboundGuard(OutboundPolicy.for_env(settings.is_production)),
            timeout=w.timeout_seconds,
            limit=w.concurrency,
        )
        self.sender = WebhookSender(
            w, clock, self.transport, metrics, node_id=settings.node_id, disable=disable
        )
        self.intake = WebhookIntake(settings, clock, bus, logged=self.sender.wake)

    async def start(self) -> None:
        await self.transport.open()
        await self.sender.start()
        await self.intake.start()

    async def stop(self) -> None:
        await self.intake.stop()
        await self.sender.stop()
        await self.transport.close()
