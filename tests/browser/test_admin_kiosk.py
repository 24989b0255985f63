"""Admin changes a role; a kiosk shows now/next and a check-in made elsewhere appears on it live;
a manager registers a kiosk and gets its link as a QR code."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import Place, Web, shoot, soon, watch
from tests.browser.test_my_bookings import book
from tests.payments_fixtures import at

expect.set_options(timeout=20_000)


async def test_admin_makes_a_member_a_manager(web: Web, place: Place):
    page = await web.open("/admin", user=place.admin)
    row = page.locator(f'tr[data-user="{place.other.id}"]')
    await row.get_by_role("combobox").select_option("manager")
    await row.get_by_role("textbox").fill(str(place.loc.id))
    await row.get_by_role("button").click()
    await expect(page.locator("#message")).to_have_text(f"{place.other.email} is now Manager.")
    r = await web.http.get(
        f"/api/v1/admin/users?email={place.other.email}", headers=web.headers(place.admin)
    )
    saved = r.json()["items"][0]
    assert (saved["role"], saved["managed_location_ids"]) == ("manager", [place.loc.id])
    # The change is in the audit log, which the same page shows.
    await page.fill("#audit-entity", "user")
    await page.click("#audit-filters button[type=submit]")
    await expect(page.locator("#audit")).to_contain_text("manager")
    await shoot(page, "admin")


async def kiosk_token(web: Web, place: Place) -> str:
    r = await web.http.post(
        "/api/v1/admin/kiosks",
        json={"location_id": place.loc.id, "name": "Entrance"},
        headers=web.headers(place.manager),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


async def test_kiosk_shows_now_and_next_and_a_check_in_appears_live(web: Web, place: Place):
    first = await book(web, place.booth.id, place.member, soon())  # within the early window
    later = await book(web, place.room.id, place.other, at(28))
    kiosk = await web.open(f"/kiosk?token={await kiosk_token(web, place)}")
    booth = kiosk.locator(f'.card[data-space="{place.booth.id}"]')
    room = kiosk.locator(f'.card[data-space="{place.room.id}"]')
    await expect(booth.locator(".check-in")).to_be_visible()
    await expect(room.locator(".card-next")).to_contain_text("Held")
    assert later["status"] == "held"

    # The member checks in from their phone: the kiosk hears it on the location stream.
    r = await web.http.post(
        f"/api/v1/spaces/{place.booth.id}/bookings/{first['id']}/check-in",
        headers=web.headers(place.member),
    )
    assert r.status_code == 200, r.text
    await expect(booth.locator(".card-next")).to_contain_text("Checked in")
    await expect(booth.locator(".check-in")).to_be_hidden()
    await shoot(kiosk, "kiosk")


async def test_kiosk_check_in_button_checks_the_booking_in(web: Web, place: Place):
    booking = await book(web, place.booth.id, place.member, soon())
    kiosk = await web.open(f"/kiosk?token={await kiosk_token(web, place)}", width=390)
    booth = kiosk.locator(f'.card[data-space="{place.booth.id}"]')
    await booth.locator(".check-in").click()
    await expect(booth.locator(".card-message")).to_have_text("Checked in. Welcome!")
    r = await web.http.get(f"/api/v1/bookings/{booking['id']}", headers=web.headers(place.member))
    assert r.json()["status"] == "checked_in"
    await shoot(kiosk, "kiosk-check-in")


async def test_manager_registers_a_kiosk_and_gets_its_link_as_a_qr_code(web: Web, place: Place):
    page = await web.open(f"/manage#location={place.loc.id}&tab=kiosks", user=place.manager)
    await page.fill("#kiosk-name", "Front door")
    await page.get_by_role("button", name="Register kiosk").click()
    link = page.locator("#kiosk-url")
    await expect(link).to_contain_text("/kiosk?token=")
    await expect(page.locator("img.qr")).to_have_attribute("src", re.compile("^data:image/gif"))
    await expect(page.locator("#kiosk-list")).to_contain_text("Front door")
    await shoot(page, "manage-kiosks")
    # The link works: the kiosk opens on this location's board.
    kiosk = await page.context.new_page()
    watch(kiosk, web.problems)
    await kiosk.goto(await link.get_attribute("href") or "")
    await expect(kiosk.locator("#kiosk-title")).to_have_text(place.loc.name)
