"""A client generated from the OpenAPI document works: it holds, pays and cancels a booking,
and books a series and pays it up front.

Fault this catches: a document a generator cannot turn into a working client (unresolvable
references, schemas that do not match the bodies sent, a missing operation or parameter).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.factories import make_location, make_space, make_user, token_for
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import at, confirm_card, poll

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "cowork_api_client"


def _write(path: Path, text: str) -> None:
    path.write_text(text)


async def generate(url: str, work: Path) -> Any:
    """Generate the client from the live document into `work` and import it."""
    async with httpx.AsyncClient(base_url=url) as http:
        spec = (await http.get("/docs/openapi.json")).json()
    await asyncio.to_thread(_write, work / "openapi.json", json.dumps(spec))
    child = await asyncio.create_subprocess_exec(
        str(GENERATOR),
        "generate",
        "--path",
        str(work / "openapi.json"),
        "--output-path",
        str(work / PACKAGE),
        "--meta",
        "none",
        "--fail-on-warning",
        cwd=work,
        env={"PATH": str(GENERATOR.parent), "HOME": str(work)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await child.communicate()
    assert child.returncode == 0, out.decode()
    sys.path.insert(0, str(work))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))


async def test_a_generated_client_holds_pays_cancels_and_pays_a_series(
    pay_server, stripe_client, tmp_path
):
    api = await generate(pay_server.url, tmp_path)
    place_hold = importlib.import_module(f"{PACKAGE}.api.bookings.bookings_place_hold")
    detail = importlib.import_module(f"{PACKAGE}.api.bookings.bookings_booking_detail")
    cancel = importlib.import_module(f"{PACKAGE}.api.bookings.bookings_cancel")
    pay = importlib.import_module(f"{PACKAGE}.api.payments.payments_pay")
    models = importlib.import_module(f"{PACKAGE}.models")

    location = await make_location()
    space = await make_space(location, hourly_price_cents=1500)
    member = await make_user()
    client = api.AuthenticatedClient(
        base_url=pay_server.url, token=token_for(pay_server.settings, member)
    )
    start = at(48)
    async with client:
        slot = models.SlotBody(start=start, end=start + timedelta(hours=2))
        held = await place_hold.asyncio(space.id, client=client, body=slot)
        assert isinstance(held, models.BookingJson), held
        assert held.status == models.BookingStatus.HELD
        assert held.price_cents == 3000

        intent = await pay.asyncio(held.id, client=client)
        assert isinstance(intent, models.PaymentIntentOut), intent
        assert intent.amount_cents == 3000
        await confirm_card(stripe_client, intent.payment_intent_id)

        async def status() -> Any:
            return (await detail.asyncio(held.id, client=client)).status

        await poll(status, lambda s: s == models.BookingStatus.CONFIRMED)
        cancelled = await cancel.asyncio(space.id, held.id, client=client)
        assert isinstance(cancelled, models.BookingJson), cancelled
        assert cancelled.status == models.BookingStatus.CANCELLED

        book_series = importlib.import_module(f"{PACKAGE}.api.series.series_create")
        pay_series = importlib.import_module(f"{PACKAGE}.api.payments.payments_pay_series")
        local = at(30).astimezone(ZoneInfo("Europe/Rome"))  # the factory's location zone
        rule = models.SeriesBody(
            rrule="FREQ=DAILY;COUNT=2",
            first_date=local.date(),
            start_time=local.strftime("%H:%M"),
            duration_minutes=60,
        )
        series = await book_series.asyncio(space.id, client=client, body=rule)
        assert isinstance(series, models.SeriesOut), series
        paid = await pay_series.asyncio(series.id, client=client)
        assert isinstance(paid, models.SeriesPaymentOut), paid
        assert (paid.amount_cents, len(paid.occurrences)) == (3000, 2)
        await confirm_card(stripe_client, paid.payment_intent_id)
        for share in paid.occurrences:
            await poll(
                lambda b=share.booking_id: detail.asyncio(b, client=client),
                lambda got: got.status == models.BookingStatus.CONFIRMED,
            )
