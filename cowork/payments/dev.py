"""Local Stripe (localstripe): register our webhook endpoint with the generated secret."""

from __future__ import annotations

import logging

import httpx

from cowork.config import Settings

log = logging.getLogger("cowork.payments.dev")


def is_local_stripe(settings: Settings) -> bool:
    return settings.stripe_api_base.startswith("http://127.0.0.1")


async def register_local_webhook(settings: Settings, *, public_url: str | None = None) -> None:
    """Tell localstripe where to send signed events; a no-op against real Stripe."""
    if not is_local_stripe(settings) or not settings.stripe_webhook_secret:
        return
    target = public_url or f"http://{settings.host}:{settings.port}"
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.post(
            f"{settings.stripe_api_base}/_config/webhooks/cowork",
            data={"url": f"{target}/webhooks/stripe", "secret": settings.stripe_webhook_secret},
        )
        r.raise_for_status()
    log.info("localstripe webhook registered for %s", target)
