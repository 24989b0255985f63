"""Admin changes a role; a kiosk shows now/next and a check-in made elsewhere appears on it live;
a manager registers a kiosk and gets its link as a QR code."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from cowork.store.models import Location
from tests.browser.conftest import WIDTHS, Place, Web, shoot, soon, watch
from tests.browser.test_my_bookings import book
from tests.payments_fixtures import at

expect.set_options(timeout=20_000)


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_admin_makes_a_member_a_manager(web: Web, place: Place, size: str):
    page = await web.open("/admin", user=place.admin, width=WIDTHS[size])
    row = page.locator(f'tr[data-user="{place.other.id}"]')
    await expect(row).to_be_visible()
    if size == "phone":
        # Stacked rows: nothing scrolls sideways, so the role and the save button are on screen.
        assert await page.evaluate(
            "[document.documentElement, document.getElementById('users')]"
            ".every((el) => el.scrollWidth <= el.clientWidth)"
        )
        box = await row.get_by_role("button").bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTHS[size]
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
    if size == "phone":  # the audit log stacks too
        assert await page.evaluate(
            "[document.documentElement, document.getElementById('audit')]"
            ".every((el) => el.scrollWidth <= el.clientWidth)"
        )
    await shoot(page, "admin-users")


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


async def pin_of(web: Web, place: Place, booking: dict[str, object]) -> str:
    r = await web.http.get(f"/api/v1/bookings/{booking['id']}", headers=web.headers(place.member))
    return str(r.json()["check_in_pin"])


async def test_kiosk_checks_a_booking_in_with_its_pin(web: Web, place: Place):
    booking = await book(web, place.booth.id, place.member, soon())
    kiosk = await web.open(f"/kiosk?token={await kiosk_token(web, place)}", width=390)
    booth = kiosk.locator(f'.card[data-space="{place.booth.id}"]')
    await booth.locator(".check-in").click()
    # Without the member's PIN a kiosk checks nobody in (proof of presence).
    web.problems.allow(r"/api/v1/kiosk/check-in|status of 403")
    pin = await pin_of(web, place, booking)
    wrong = str((int(pin) + 1) % 1_000_000).zfill(6)
    await booth.get_by_label("check-in PIN").fill(wrong)
    await booth.locator(".check-in-submit").click()
    await expect(booth.locator(".card-message")).to_have_attribute("data-kind", "error")
    r = await web.http.get(f"/api/v1/bookings/{booking['id']}", headers=web.headers(place.member))
    assert r.json()["status"] == "confirmed"
    await booth.get_by_label("check-in PIN").fill(pin)
    await booth.locator(".check-in-submit").click()
    await expect(booth.locator(".card-message")).to_have_text("Checked in. Welcome!")
    r = await web.http.get(f"/api/v1/bookings/{booking['id']}", headers=web.headers(place.member))
    assert r.json()["status"] == "checked_in"
    await shoot(kiosk, "kiosk-check-in")


async def test_member_checks_in_with_the_code_the_kiosk_shows(web: Web, place: Place):
    rules = {**place.loc.booking_rules, "check_in_needs_presence": True}
    await Location.filter(id=place.loc.id).update(booking_rules=rules)
    booking = await book(web, place.booth.id, place.member, soon())
    kiosk = await web.open(f"/kiosk?token={await kiosk_token(web, place)}")
    code = kiosk.locator("#presence-code")
    await expect(code).to_have_text(re.compile(r"^[0-9]{6}$"))
    await expect(kiosk.locator("#presence-qr")).to_have_attribute(
        "src", re.compile("^data:image/gif")
    )
    # What the kiosk's QR opens on the member's phone: the check-in, with the code filled in.
    member = await web.open(
        f"/bookings?check_in={await code.text_content()}&location={place.loc.id}",
        user=place.member,
        width=390,
    )
    await expect(member.locator("#presence-code")).to_have_value(await code.text_content() or "")
    await member.get_by_role("dialog").get_by_role("button", name="Check in").click()
    card = member.locator(f'[data-booking="{booking["id"]}"]')
    await expect(card).to_have_attribute("data-status", "checked_in")
    await expect(kiosk.locator(f'.card[data-space="{place.booth.id}"] .card-next')).to_contain_text(
        "Checked in"
    )
    await shoot(member, "bookings-presence")


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
