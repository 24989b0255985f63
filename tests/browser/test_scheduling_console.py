"""Approvals end to end in the pages: a manager makes a space need approval where spaces are
edited, a member's request reaches the console live (with the deadline at which it declines
itself), the manager approves it and the member's page turns it payable at once, and it is paid;
a declined request shows declined; booking rules and quotas are edited where rules are."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Place, Web, axe_violations, shoot
from tests.browser.test_my_bookings import book
from tests.payments_fixtures import at, poll

expect.set_options(timeout=20_000)
ROME = ZoneInfo("Europe/Rome")
SIZES = {"phone": (390, 844), "desk": (1366, 900)}


async def pay_in_page(page: Page, root: str) -> None:
    """Pay the checkout open under `root` with the test card, as a member types it."""
    card = page.locator(f"{root} #card-element input")
    await expect(card.first).to_be_visible()
    for i, value in enumerate(["4242424242424242", "12", "34", "123", "20124"]):
        await card.nth(i).fill(value)
    await page.locator(f"{root} #pay").click()


async def status_of(web: Web, booking_id: int, user: Any) -> str:
    r = await web.http.get(f"/api/v1/bookings/{booking_id}", headers=web.headers(user))
    return str(r.json()["status"])


@pytest.mark.parametrize("size", list(SIZES))
async def test_manager_approves_a_request_and_the_members_page_turns_it_payable(
    web: Web, place: Place, size: str
):
    width, height = SIZES[size]
    # 1. The manager makes Room B need approval, with 15 minutes of turnaround after each
    #    booking, in the space editor (a field not sent or not saved shows in the API).
    manager = await web.open(
        f"/manage#location={place.loc.id}&tab=spaces",
        user=place.manager,
        width=width,
        height=height,
    )
    await manager.locator(f'#edit-floors [data-space="{place.room.id}"]').click()
    await manager.check("#sp-requires_approval")
    await manager.fill("#sp-buffer_after_minutes", "15")
    await manager.locator("#space-form button[type=submit]").click()
    await expect(manager.locator("#message")).to_have_text("Saved.")
    saved = (await web.http.get(f"/api/v1/spaces/{place.room.id}")).json()
    assert (saved["requires_approval"], saved["buffer_after_minutes"]) == (True, 15)

    # 2. The approvals tab is open when the member asks: the request arrives live.
    await manager.click("#tab-approvals")
    await expect(manager.locator("#approvals-none")).to_be_visible()
    member = await web.open(
        f"/#location={place.loc.id}", user=place.member, width=width, height=height
    )
    day = (datetime.now(ROME) + timedelta(days=2)).date().isoformat()
    await member.fill("#date", day)
    await member.select_option("#time", str(10 * 60))
    await member.select_option("#length", "60")
    await member.click("#search button[type=submit]")
    await member.click(f'[data-space="{place.room.id}"]')
    await expect(member.locator("#details")).to_contain_text("need a manager's approval")
    await expect(member.locator("#quote")).to_contain_text("€30.00")
    await member.click("#hold")
    await expect(member.locator("#hold-message")).to_contain_text("a manager decides by")
    requested = await poll(
        lambda: web.http.get(
            f"/api/v1/manage/locations/{place.loc.id}/approvals",
            headers=web.headers(place.manager),
        ),
        lambda r: len(r.json()["items"]) == 1,
    )
    request = requested.json()["items"][0]
    row = manager.locator(f'#approvals tr[data-booking="{request["id"]}"]')
    await expect(row).to_contain_text(place.member.email)  # from the stream, no reload
    await expect(row).to_contain_text("Room B")
    deadline = datetime.fromisoformat(request["expires_at"]).astimezone(ROME)
    await expect(row.locator(".deadline")).to_contain_text(deadline.strftime("%H:%M"))
    assert await axe_violations(manager) == []
    await shoot(manager, "manage-approvals")

    # 3. The member's My bookings shows the request as such, then payable when approved.
    mine = await web.open("/bookings", user=place.member, width=width, height=height)
    card = mine.locator(f'[data-booking="{request["id"]}"]')
    await expect(card).to_have_attribute("data-status", "pending_approval")
    await expect(card).to_contain_text("Awaiting approval")
    await expect(card.get_by_role("button", name="Withdraw the request")).to_be_visible()
    await row.get_by_role("button", name=f"Approve #{request['id']}").click()
    await expect(manager.locator("#message")).to_contain_text("the member is asked to pay")
    await expect(manager.locator("#approvals-none")).to_be_visible()
    await expect(card).to_have_attribute("data-status", "held")  # live, from booking.approved
    await expect(mine.locator("#notification-list")).to_contain_text("Booking request approved")
    await card.get_by_role("button", name="Pay").click()
    await pay_in_page(mine, "#checkout")
    await expect(card).to_have_attribute("data-status", "confirmed")
    assert await status_of(web, request["id"], place.member) == "confirmed"
    await shoot(mine, "bookings-approved")


async def test_a_declined_request_shows_declined_with_its_notification(web: Web, place: Place):
    r = await web.http.patch(
        f"/api/v1/manage/spaces/{place.booth.id}",
        json={"requires_approval": True},
        headers=web.headers(place.manager),
    )
    assert r.status_code == 200, r.text
    request = await book(web, place.booth.id, place.member, at(30))
    assert request["status"] == "pending_approval"
    mine = await web.open("/bookings", user=place.member)
    card = mine.locator(f'[data-booking="{request["id"]}"]')
    await expect(card).to_contain_text("Awaiting approval")

    manager = await web.open(f"/manage#location={place.loc.id}&tab=approvals", user=place.manager)
    row = manager.locator(f'#approvals tr[data-booking="{request["id"]}"]')
    await row.get_by_role("button", name=f"Decline #{request['id']}").click()
    await manager.fill("#decline-note", "The booth is being repaired that day.")
    await manager.locator("dialog button[type=submit]").click()
    await expect(manager.locator("#message")).to_have_text(f"Request #{request['id']} declined.")
    await expect(card).to_have_attribute("data-status", "declined")
    await expect(card).to_contain_text("Declined")
    await expect(mine.locator("#notification-list")).to_contain_text("Booking request declined")
    assert await status_of(web, request["id"], place.member) == "declined"


async def test_quotas_and_offer_minutes_are_edited_with_the_booking_rules(web: Web, place: Place):
    manager = await web.open(f"/manage#location={place.loc.id}&tab=rules", user=place.manager)
    await manager.fill("#rule-max_hours_per_week", "3")
    await manager.fill("#rule-waitlist_offer_minutes", "5")
    await manager.fill("#rule-approval_hours", "12")
    await manager.get_by_role("button", name="Save the rules").click()
    await expect(manager.locator("#message")).to_have_text("Saved.")
    rules = (await web.http.get(f"/api/v1/locations/{place.loc.id}")).json()["booking_rules"]
    assert (rules["max_hours_per_week"], rules["waitlist_offer_minutes"]) == (3, 5)
    assert (rules["approval_hours"], rules["max_bookings_ahead"]) == (12, None)
    await shoot(manager, "manage-rules")

    # The quota now refuses a member's fourth hour of a week with the limit named.
    await book(web, place.booth.id, place.member, at(30), hours=3)
    r = await web.http.post(
        f"/api/v1/spaces/{place.desk.id}/bookings",
        json={"start": at(30).isoformat(), "end": (at(30) + timedelta(hours=1)).isoformat()},
        headers=web.headers(place.member),
    )
    assert (r.status_code, r.json().get("limit")) == (409, "max_hours_per_week")

    await manager.fill("#rule-max_hours_per_week", "")  # empty: the limit goes
    async with manager.expect_response(lambda r: r.request.method in ("PATCH", "PUT")) as saved:
        await manager.get_by_role("button", name="Save the rules").click()
    assert (await saved.value).ok

    async def rules_now() -> dict:
        return (await web.http.get(f"/api/v1/locations/{place.loc.id}")).json()["booking_rules"]

    # Catalogue reads are cached until the node hears of the change: poll, do not read once.
    await poll(rules_now, lambda rules: rules["max_hours_per_week"] is None)
