"""Payment test support: a real localstripe per run, servers wired to it, signed events.

Import in a test module with `from tests.payments_fixtures import *  # noqa`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from cowork.actors.commands import Forget
from cowork.config import Settings
from cowork.devstack import start_localstripe
from cowork.payments.dev import register_local_webhook
from tests.conftest import TLS, RunningServer, start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.polling import poll

__all__ = [
    "WEBHOOK_SECRET",
    "PayWorld",
    "at",
    "booking_status",
    "confirm_card",
    "expire_hold",
    "localstripe",
    "pay_server",
    "pay_settings",
    "pay_world",
    "poll",
    "running_payments",
    "sign",
    "signed_event",
    "slot",
    "stop_payments",
    "stripe_client",
    "stripe_refunds",
    "with_stripe",
]

WEBHOOK_SECRET = "whsec_test"
T = TypeVar("T")


def at(hours_from_now: float) -> datetime:
    """A quarter-hour-aligned instant some hours ahead."""
    t = datetime.now(UTC) + timedelta(hours=hours_from_now)
    return t.replace(minute=(t.minute // 15) * 15, second=0, microsecond=0)


def slot(start: datetime, hours: float = 1) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed_event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None
) -> tuple[str, str]:
    """A Stripe-shaped event and its id, as our own signed test deliveries."""
    event_id = event_id or f"evt_test_{uuid.uuid4().hex}"
    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )
    return payload, event_id


_shared_localstripe: list[str] = []  # one per test run, whichever module asks first


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One localstripe for the run. Each module that star-imports this fixture gets its own
    session-scoped instance; they share the running server through `_shared_localstripe`, and
    the one that started it stops it at the end."""
    if _shared_localstripe:
        yield _shared_localstripe[0]
        return
    child, url = start_localstripe(tmp_path_factory.mktemp("localstripe"))
    try:
        # localstripe reloads /tmp/localstripe.pickle (shared by every instance): start clean.
        httpx.delete(f"{url}/_config/data", timeout=5).raise_for_status()
        _shared_localstripe.append(url)
        yield url
    finally:
        _shared_localstripe.clear()
        child.stop()


def with_stripe(settings: Settings, api_base: str) -> Settings:
    return replace(
        settings,
        stripe_secret_key="sk_test_x",
        stripe_api_base=api_base,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_publishable_key="pk_test_x",
        stripe_timeout_seconds=5.0,
        refund_retry_seconds=0.2,
    )


@pytest.fixture
def pay_settings(settings: Settings, localstripe: str) -> Settings:
    return with_stripe(settings, localstripe)


async def running_payments(settings: Settings) -> tuple[RunningServer, Any]:
    """A server with Stripe configured (payments start with the node)."""
    return await start_server(settings)


async def stop_payments(srv: Any, running: RunningServer) -> None:
    await stop_server(srv)


@pytest.fixture
async def pay_server(pay_settings: Settings) -> AsyncIterator[RunningServer]:
    running, srv = await running_payments(pay_settings)
    await register_local_webhook(pay_settings)
    try:
        yield running
    finally:
        await stop_payments(srv, running)


@pytest.fixture
async def stripe_client(localstripe: str) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient(timeout=10)
    yield stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe}, http_client=http)
    await http.close_async()


class PayWorld:
    def __init__(self, server: RunningServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http
        self.s = server.settings

    async def setup(self) -> PayWorld:
        self.loc = await make_location()
        self.other_loc = await make_location()
        self.space = await make_space(self.loc, hourly_price_cents=1000)
        self.free_space = await make_space(self.loc, type="phone_booth")
        self.member_user = await make_user()
        self.member = auth(self.s, self.member_user)
        self.other = auth(self.s, await make_user())
        self.manager = auth(self.s, await make_user("manager", managed=(self.loc,)))
        self.stranger_manager = auth(self.s, await make_user("manager", managed=(self.other_loc,)))
        self.admin = auth(self.s, await make_user("admin"))
        return self

    async def hold(
        self, start: datetime, who: dict[str, str] | None = None, hours: float = 1
    ) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/v1/spaces/{self.space.id}/bookings",
            json=slot(start, hours),
            headers=who or self.member,
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "held"
        return dict(r.json())

    async def pay(self, booking_id: int, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.member)
        return await self.http.post(f"/api/v1/bookings/{booking_id}/payment", **kwargs)

    async def cancel(self, booking: dict[str, Any], who: dict[str, str] | None = None) -> Any:
        r = await self.http.post(
            f"/api/v1/spaces/{booking['space_id']}/bookings/{booking['id']}/cancel",
            headers=who or self.member,
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def webhook(self, payload: str, signature: str | None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers["stripe-signature"] = signature
        return await self.http.post("/webhooks/stripe", content=payload, headers=headers)

    async def paid_booking(self, stripe_client: stripe.StripeClient, start: datetime) -> Any:
        """Hold, pay with a test card, wait for the webhook to confirm; (booking, intent id)."""
        booking = await self.hold(start)
        r = await self.pay(booking["id"])
        assert r.status_code == 201, r.text
        intent_id = r.json()["payment_intent_id"]
        await confirm_card(stripe_client, intent_id)
        await poll(lambda: booking_status(self, booking["id"]), lambda st: st == "confirmed")
        return booking, intent_id


@pytest.fixture
async def pay_world(pay_server: RunningServer) -> AsyncIterator[PayWorld]:
    async with httpx.AsyncClient(base_url=pay_server.url, timeout=30, verify=TLS) as http:
        yield await PayWorld(pay_server, http).setup()


async def booking_status(world: PayWorld, booking_id: int) -> str:
    r = await world.http.get(f"/api/v1/bookings/{booking_id}", headers=world.admin)
    return str(r.json()["status"])


async def confirm_card(client: stripe.StripeClient, intent_id: str) -> None:
    """What Stripe.js does with a test card (localstripe: attach the method, then confirm)."""
    await client.v1.payment_intents.update_async(intent_id, {"payment_method": "pm_card_visa"})
    intent = await client.v1.payment_intents.confirm_async(intent_id)
    assert intent.status == "succeeded"


async def stripe_refunds(client: stripe.StripeClient, intent_id: str) -> list[int]:
    page = await client.v1.refunds.list_async({"payment_intent": intent_id})
    return [int(r.amount) for r in page.data]


async def expire_hold(world: PayWorld, db: Any, booking: dict[str, Any]) -> None:
    """Let the hold lapse now: move its deadline into the past and let the timer act."""
    await db.execute(
        "UPDATE bookings SET expires_at = now() - interval '1 second', "
        "deadline_at = now() - interval '1 second' WHERE id = $1",
        booking["id"],
    )
    app = world.server.app
    await app.ctx.services.registry.ask(booking["space_id"], Forget())
    app.ctx.services.timer.wake(datetime.now(UTC) - timedelta(seconds=1))
    await poll(lambda: booking_status(world, booking["id"]), lambda st: st == "expired")
