"""A member pays the held occurrences of a series at once in My bookings: one checkout with the
total, the card form, and every occurrence confirmed live on the page; an occurrence cancelled
meanwhile is named (live, and after a reload) and the others still confirm; a stale single Pay
shows the API's refusal.

Faults it catches: a total that is not the sum of the held occurrences; a checkout that ends at
the first confirmation (or never, when one occurrence is cancelled); a total that leaves out a
cancelled occurrence the open intent still charges; per-occurrence Pay offered for an
occurrence inside a series payment; a refused single payment that breaks the page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import WIDTHS, Place, Web, axe_violations, shoot
from tests.browser.test_my_bookings import status_of
from tests.browser.test_scheduling_console import pay_in_page
from tests.browser.test_scheduling_member import day_ahead
from tests.payments_fixtures import poll

expect.set_options(timeout=20_000)


async def held_series(web: Web, place: Place, count: int = 3) -> tuple[int, list[int]]:
    """A daily series of one-hour desk bookings (10.00 EUR each), all held: its id and theirs."""
    first = day_ahead(2)
    body = {
        "rrule": f"FREQ=DAILY;COUNT={count}",
        "first_date": first.date().isoformat(),
        "start_time": "10:00",
        "duration_minutes": 60,
    }
    r = await web.http.post(
        f"/api/v1/spaces/{place.desk.id}/series", json=body, headers=web.headers(place.member)
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert [o["booking"]["status"] for o in made["occurrences"]] == ["held"] * count
    return made["id"], [o["booking"]["id"] for o in made["occurrences"]]


async def statuses(web: Web, place: Place, ids: list[int]) -> list[str]:
    return [await status_of(web, i, place.member) for i in ids]


def occurrence(page: Page, booking_id: int) -> Any:
    return page.locator(f'#upcoming [data-booking="{booking_id}"]')


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_member_pays_all_held_occurrences_and_sees_each_confirmed(
    web: Web, place: Place, size: str
):
    series_id, ids = await held_series(web, place)
    page = await web.open("/bookings", user=place.member, width=WIDTHS[size])
    card = page.locator(f'[data-series="{series_id}"]')
    await expect(card.locator('[data-status="held"]')).to_have_count(3)
    pay_all = card.get_by_role("button", name="Pay all held (€30.00)")
    await expect(pay_all).to_be_visible()
    await shoot(page, "bookings-series-held")

    await pay_all.click()
    checkout = page.locator("#checkout")
    await expect(checkout.locator("#checkout-occurrences li")).to_have_count(3)
    await expect(checkout.locator(".price")).to_have_text("€30.00")
    await expect(checkout.locator(".countdown")).to_contain_text(
        re.compile(r"Hold expires in \d+:\d\d")
    )
    # The series payment started: no occurrence offers a payment of its own any more.
    await expect(card.get_by_role("button", name=re.compile("^Pay: "))).to_have_count(0)
    await expect(checkout.locator("#card-element input").first).to_be_visible()
    assert await axe_violations(page) == []
    await shoot(page, "bookings-series-checkout")
    await pay_in_page(page, "#checkout")

    # Each occurrence's booking.confirmed arrives on the stream; the page is not reloaded.
    await expect(checkout.locator(".message[data-kind=success]")).to_have_text("Confirmed: all 3.")
    for booking_id in ids:
        await expect(occurrence(page, booking_id)).to_have_attribute("data-status", "confirmed")
    await expect(checkout.locator('#checkout-occurrences [data-status="confirmed"]')).to_have_count(
        3
    )
    await expect(card.get_by_role("button", name=re.compile("^Pay all held"))).to_have_count(0)
    assert await statuses(web, place, ids) == ["confirmed"] * 3
    history = await web.http.get("/api/v1/payments", headers=web.headers(place.member))
    assert {(p["booking_id"], p["series_id"]) for p in history.json()["items"]} == {
        (i, series_id) for i in ids
    }
    await shoot(page, "bookings-series-paid")


async def test_a_stale_single_pay_shows_the_refusal_and_a_cancelled_occurrence_is_named(
    web: Web, place: Place
):
    series_id, ids = await held_series(web, place)
    page = await web.open("/bookings", user=place.member, width=WIDTHS["phone"])
    card = page.locator(f'[data-series="{series_id}"]')
    single = occurrence(page, ids[0]).get_by_role("button", name=re.compile("^Pay: "))
    await expect(single).to_be_visible()

    # Another tab starts the series payment: this page still offers the occurrence alone.
    started = await web.http.post(
        f"/api/v1/series/{series_id}/payment", headers=web.headers(place.member)
    )
    assert started.status_code == 201, started.text
    web.problems.allow(rf"HTTP 409: POST \S+/api/v1/bookings/{ids[0]}/payment$")
    web.problems.allow(r"console error: Failed to load resource: .* 409 \(Conflict\)")
    await single.click()
    refusal = page.locator("#checkout .message[data-kind=error]")
    await expect(refusal).to_contain_text(f"is paid with its series {series_id}: pay the series")
    await expect(page.locator("#checkout #pay")).to_have_count(0)
    # The page read the payments again: the series is paid as one, never occurrence by occurrence.
    await expect(card.get_by_role("button", name=re.compile("^Pay: "))).to_have_count(0)
    await page.locator("#checkout").get_by_role("button", name="Close").click()

    await card.get_by_role("button", name="Pay all held (€30.00)").click()
    lines = page.locator("#checkout-occurrences li")
    await expect(lines).to_have_count(3)
    await expect(page.locator("#checkout #card-element input").first).to_be_visible()
    r = await web.http.post(
        f"/api/v1/spaces/{place.desk.id}/series/{series_id}/cancel",
        json={"scope": "one", "booking_id": ids[1]},
        headers=web.headers(place.member),
    )
    assert r.status_code == 200, r.text
    await expect(lines.nth(1)).to_have_attribute("data-status", "cancelled")
    await expect(page.locator("#checkout .message")).to_contain_text("was cancelled")

    # Read afresh, the page asks what the open intent asks (it keeps the cancelled one, which
    # is refunded when the money arrives), and names that one before the card is typed.
    await page.reload()
    await card.get_by_role("button", name="Pay all held (€30.00)").click()
    await expect(lines.nth(1)).to_have_attribute("data-status", "cancelled")
    await expect(page.locator("#checkout .message")).to_contain_text("was cancelled")
    await expect(page.locator("#checkout .price")).to_have_text("€30.00")
    await pay_in_page(page, "#checkout")
    await expect(page.locator("#checkout .message[data-kind=success]")).to_have_text(
        "Confirmed 2 of 3; what was paid for the others is refunded."
    )
    await poll(
        lambda: statuses(web, place, ids),
        lambda got: got == ["confirmed", "cancelled", "confirmed"],
    )
    for booking_id, status in zip(ids, ["confirmed", "cancelled", "confirmed"], strict=True):
        await expect(occurrence(page, booking_id)).to_have_attribute("data-status", status)
    await shoot(page, "bookings-series-partly")
