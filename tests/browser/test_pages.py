"""Every page at 390 px and 1280 px: screenshots for reviewers, WCAG 2.2 AA by axe-core (labels,
contrast, target sizes, ARIA), keyboard-only booking, Italian, and the location's time zone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import WIDTHS, Place, Web, axe_violations, shoot, soon
from tests.browser.test_admin_kiosk import kiosk_token
from tests.browser.test_my_bookings import book
from tests.payments_fixtures import at

expect.set_options(timeout=20_000)
MANAGE_TABS = [
    "dashboard",
    "approvals",
    "bookings",
    "spaces",
    "hours",
    "rules",
    "kiosks",
    "analytics",
]


async def settle(page: Page) -> None:
    """Wait until the page has drawn its data (no element still marked busy)."""
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_every_page_passes_axe_and_is_screenshotted(web: Web, place: Place, size: str):
    width = WIDTHS[size]
    await book(web, place.booth.id, place.member, soon())
    await book(web, place.desk.id, place.member, at(26))
    found: dict[str, list[str]] = {}

    async def check(page: Page, name: str) -> None:
        await settle(page)
        await shoot(page, name)
        found[name] = await axe_violations(page)

    page = await web.open(f"/#location={place.loc.id}", user=place.member, width=width)
    await expect(page.locator(f'[data-space="{place.booth.id}"]')).to_be_visible()
    await check(page, "find")
    await page.click(f'[data-space="{place.desk.id}"]')
    await expect(page.locator("#quote")).to_contain_text("€")
    await check(page, "find-space")

    page = await web.open("/bookings", user=place.member, width=width)
    await expect(page.locator(".booking").first).to_be_visible()
    await check(page, "bookings")

    page = await web.open(f"/manage#location={place.loc.id}", user=place.manager, width=width)
    for tab in MANAGE_TABS:
        await page.click(f"#tab-{tab}")
        await expect(page.locator(f"#panel-{tab}")).not_to_be_empty()
        await check(page, f"manage-{tab}")

    page = await web.open("/admin", user=place.admin, width=width)
    await expect(page.locator("#users tbody tr").first).to_be_visible()
    await check(page, "admin")

    page = await web.open(f"/kiosk?token={await kiosk_token(web, place)}", width=width)
    await expect(page.locator(".card").first).to_be_visible()
    await check(page, "kiosk")

    page = await web.open("/docs", width=width)  # third-party UI: screenshot, not audited
    await expect(page.locator(".opblock").first).to_be_visible()
    await shoot(page, "docs")

    failures = [f"{name}: {v}" for name, violations in found.items() for v in violations]
    assert failures == [], "\n".join(failures)


async def test_a_keyboard_alone_books_a_space(web: Web, place: Place):
    page = await web.open(f"/#location={place.loc.id}", user=place.member)
    await settle(page)
    booth = page.locator(f'[data-space="{place.booth.id}"]')
    for _ in range(80):  # Tab through the page until the booth has focus: it is reachable
        if await booth.evaluate("el => el === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("the floor map's spaces are not reachable with Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator("#details-title")).to_be_focused()
    await expect(page.locator("#quote")).to_contain_text("free of charge")
    for _ in range(30):
        if await page.locator("#hold").evaluate("el => el === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("the hold button is not reachable with Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator("#hold-message")).to_contain_text("Booked")
    await page.keyboard.press("Escape")
    await expect(booth).to_be_focused()  # focus goes back where it was


async def test_italian_translates_pages_and_formats_money(web: Web, place: Place):
    page = await web.open(f"/#location={place.loc.id}", lang="it")
    await expect(page.get_by_role("link", name="Cerca e prenota")).to_be_visible()
    await page.click(f'[data-space="{place.desk.id}"]')
    await expect(page.locator("#details")).to_contain_text("10,00 € all'ora")
    await page.select_option("#lang", "en")
    await expect(page.get_by_role("link", name="Find and book")).to_be_visible()
    await expect(page.locator("#details")).to_contain_text("€10.00 per hour")
    missing = await page.evaluate(
        """async () => {
            const { MESSAGES } = await import('/web/messages.js');
            return Object.keys(MESSAGES.en).filter((k) => !(k in MESSAGES.it));
        }"""
    )
    assert missing == []


async def test_times_name_the_locations_zone_when_the_viewer_is_elsewhere(web: Web, place: Place):
    here = await web.open(f"/#location={place.loc.id}", timezone="Europe/Rome")
    away = await web.open(f"/#location={place.loc.id}", timezone="America/New_York")
    zone = re.compile(r"\bCES?T\b")
    await expect(away.locator("#instant-text")).to_contain_text(zone)
    await expect(here.locator("#instant-text")).to_contain_text("Now")
    assert not zone.search(await here.locator("#instant-text").text_content() or "")
