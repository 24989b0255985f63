"""Wires payments into start and stop: the Stripe gateway and the refund retry loop.

Call `install(app)` from create_app after the actors (the retry loop may ask them nothing,
but refunds emit events the relay publishes, and webhooks ask the actors).
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from cowork.payments.context import Payments
from cowork.payments.refunds import RefundRetrier


async def start(app: Sanic[Any, Any]) -> None:
    if getattr(app.ctx, "refund_retrier", None) is not None:
        return  # already started
    payments = getattr(app.ctx, "payments", None) or Payments(app)
    app.ctx.payments = payments
    retrier = RefundRetrier(payments)
    retrier.start()
    app.ctx.refund_retrier = retrier


async def stop(app: Sanic[Any, Any]) -> None:
    retrier: RefundRetrier | None = getattr(app.ctx, "refund_retrier", None)
    if retrier is not None:
        await retrier.stop()
        app.ctx.refund_retrier = None
    payments: Payments | None = getattr(app.ctx, "payments", None)
    if payments is not None:
        await payments.close()
        app.ctx.payments = None


def install(app: Sanic[Any, Any]) -> None:
    @app.before_server_start
    async def start_payments(app: Sanic[Any, Any]) -> None:
        await start(app)

    @app.after_server_stop
    async def stop_payments(app: Sanic[Any, Any]) -> None:
        await stop(app)
