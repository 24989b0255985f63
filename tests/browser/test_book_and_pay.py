"""A member finds a desk for tomorrow 10 to 12, holds it, pays with the test card and sees it
confirmed, while another browser watching that hour sees the space turn held, then booked."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.browser.conftest import PASSWORD, Place, Web, shoot

expect.set_options(timeout=20_000)
ROME = ZoneInfo("Europe/Rome")


def tomorrow() -> str:
    return (datetime.now(ROME) + timedelta(days=1)).date().isoformat()


async def search_tomorrow_ten(page: Page) -> None:
    await page.fill("#date", tomorrow())
    await page.select_option("#time", str(10 * 60))
    await page.select_option("#length", "120")
    await page.click("#search button[type=submit]")


async def scrub_to(page: Page, minutes: int) -> None:
    """Move the floor's time scrubber as a person would (keyboard on the range input)."""
    slider = page.locator("#instant")
    await slider.focus()
    await slider.press("Home")
    for _ in range(minutes // 15):
        await slider.press("ArrowRight")


async def test_member_signs_up_books_pays_and_another_map_follows(web: Web, place: Place):
    # Someone else watches the same location at tomorrow 10:30 (a fault in applying the
    # event payloads, or an event not published, leaves their map free).
    observer = await web.open(f"/#location={place.loc.id}")
    await observer.fill("#date", tomorrow())
    await observer.dispatch_event("#date", "change")
    await scrub_to(observer, 10 * 60 + 30)
    watched = observer.locator(f'[data-space="{place.desk.id}"]')
    await expect(watched).to_have_attribute("data-status", "free")

    page = await web.open(f"/#location={place.loc.id}", width=390)
    await page.click("#sign-up")
    await page.fill("#auth-name", "Nuova Persona")
    await page.fill("#auth-email", "nuova@example.com")
    await page.fill("#auth-password", PASSWORD)
    await page.click("dialog button[type=submit]")
    await expect(page.locator(".who")).to_have_text("Nuova Persona")

    await search_tomorrow_ten(page)
    await page.click(f'[data-space="{place.desk.id}"]')
    await expect(page.locator("#details-title")).to_have_text("Desk A")
    await expect(page.locator("#slot-start")).to_have_value(
        str(
            int(
                datetime.fromisoformat(f"{tomorrow()}T10:00").replace(tzinfo=ROME).timestamp()
                * 1000
            )
        )
    )
    # 2 h at 10.00 EUR: the price shown before holding comes from the quote endpoint.
    await expect(page.locator("#quote")).to_contain_text("€20.00")
    await shoot(page, "find-space-panel")
    await page.click("#hold")

    await expect(page.locator("#checkout-title")).to_be_visible()
    await expect(page.locator(".countdown")).to_contain_text("Hold expires in 9:")
    await expect(watched).to_have_attribute("data-status", "held")
    card = page.locator("#card-element input")
    await expect(card.first).to_be_visible()
    await card.nth(0).fill("4242424242424242")
    await card.nth(1).fill("12")
    await card.nth(2).fill("34")
    await card.nth(3).fill("123")
    await card.nth(4).fill("20124")
    await shoot(page, "find-checkout")
    await page.click("#pay")

    # The webhook confirms; the page hears it on the member's stream, without reloading.
    await expect(page.locator("#details .message[data-kind=success]")).to_contain_text("Confirmed")
    await expect(watched).to_have_attribute("data-status", "booked")
    await expect(page.locator("#unread")).not_to_have_text("0")
    await shoot(observer, "find-observer")
