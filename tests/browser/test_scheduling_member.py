"""A member's side of scheduling in the pages: wait for a taken slot and take the offer when the
holder cancels (countdown, paid like any hold); book a weekly series (each occurrence's outcome,
all or nothing refused with the reason) and cancel this and the following occurrences with the
refund each gets; the calendar feed's address copied and rotated."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Place, Web, axe_violations, shoot
from tests.browser.test_my_bookings import book, status_of
from tests.browser.test_scheduling_console import SIZES, pay_in_page
from tests.payments_fixtures import confirm_card, poll

expect.set_options(timeout=20_000)
ROME = ZoneInfo("Europe/Rome")
DASH = "\u2013"  # the en dash the page puts between two times


def day_ahead(days: int) -> datetime:
    """10:00 in Rome `days` days from today (always open in the test location)."""
    return (datetime.now(ROME) + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


async def open_space(page: Page, place: Place, space_id: int, start: datetime, hours: int) -> None:
    """Search the day of `start` from its hour for `hours`, then open the space's panel."""
    await page.fill("#date", start.date().isoformat())
    await page.select_option("#time", str(start.hour * 60 + start.minute))
    await page.select_option("#length", str(hours * 60))
    await page.click("#search button[type=submit]")
    await page.click(f'[data-space="{space_id}"]')
    await expect(page.locator("#quote")).not_to_be_empty()


@pytest.mark.parametrize("size", list(SIZES))
async def test_member_waits_for_a_taken_slot_and_takes_the_offer_when_it_frees(
    web: Web, place: Place, size: str
):
    width, height = SIZES[size]
    start = day_ahead(2)
    taken = await book(web, place.desk.id, place.other, start, hours=2)  # held by someone else
    page = await web.open(
        f"/#location={place.loc.id}", user=place.member, width=width, height=height
    )
    await open_space(page, place, place.desk.id, start, 2)
    join = page.get_by_role("button", name=f"Join the waitlist: 10:00{DASH}12:00")
    await join.click()
    await expect(page.locator("#hold-message")).to_contain_text("You are on the waitlist")
    entry = page.locator("#my-waitlist [data-entry]")
    await expect(entry).to_have_attribute("data-status", "waiting")
    await expect(
        page.get_by_role("button", name=f"Leave the waitlist: 10:00{DASH}12:00")
    ).to_be_visible()
    await shoot(page, "find-waitlist")

    # The holder cancels: the offer (an exclusive hold for us) arrives live, with a countdown.
    r = await web.http.post(
        f"/api/v1/spaces/{place.desk.id}/bookings/{taken['id']}/cancel",
        json={},
        headers=web.headers(place.other),
    )
    assert r.status_code == 200, r.text
    await expect(entry).to_have_attribute("data-status", "offered")
    await expect(entry.locator(".countdown")).to_contain_text("Offer ends in 9:")
    await expect(entry).to_contain_text("€20.00")
    assert await axe_violations(page) == []
    await shoot(page, "find-waitlist-offer")
    await entry.get_by_role("button", name="Pay to take it").click()
    await pay_in_page(page, "#offer-checkout")
    await expect(page.locator("#offer-checkout .message[data-kind=success]")).to_contain_text(
        "Confirmed"
    )
    mine = await web.http.get("/api/v1/me/waitlist", headers=web.headers(place.member))
    offered = mine.json()["items"][0]
    assert offered["status"] == "booked"
    assert await status_of(web, offered["booking_id"], place.member) == "confirmed"


async def test_declining_an_offer_passes_it_to_the_next_member(web: Web, place: Place):
    start = day_ahead(3)
    taken = await book(web, place.booth.id, place.other, start)  # free space: confirmed
    first = await web.http.post(
        f"/api/v1/spaces/{place.booth.id}/waitlist",
        json={"start": taken["start"], "end": taken["end"]},
        headers=web.headers(place.member),
    )
    assert first.status_code == 201, first.text
    second = await web.http.post(
        f"/api/v1/spaces/{place.booth.id}/waitlist",
        json={"start": taken["start"], "end": taken["end"]},
        headers=web.headers(place.manager),
    )
    assert second.status_code == 201, second.text
    page = await web.open("/bookings", user=place.member)
    entry = page.locator(f'#my-waitlist [data-entry="{first.json()["id"]}"]')
    await expect(entry).to_have_attribute("data-status", "waiting")
    await web.http.post(
        f"/api/v1/spaces/{place.booth.id}/bookings/{taken['id']}/cancel",
        json={},
        headers=web.headers(place.other),
    )
    await expect(entry.get_by_role("button", name="Take it")).to_be_visible()  # a free offer
    await entry.get_by_role("button", name="Decline the offer").click()
    await expect(page.locator("#message")).to_contain_text("passes to the next member")
    await expect(page.locator("#my-waitlist")).to_be_hidden()
    nexts = await poll(
        lambda: web.http.get("/api/v1/me/waitlist", headers=web.headers(place.manager)),
        lambda r: r.json()["items"][0]["status"] == "offered",
    )
    assert nexts.json()["items"][0]["id"] == second.json()["id"]


@pytest.mark.parametrize("size", list(SIZES))
async def test_member_books_a_weekly_series_and_cancels_the_following_with_refunds(
    web: Web, place: Place, stripe_client, size: str
):
    width, height = SIZES[size]
    start = day_ahead(2)
    await book(web, place.desk.id, place.other, start + timedelta(days=7), hours=2)  # week 2
    page = await web.open(
        f"/#location={place.loc.id}", user=place.member, width=width, height=height
    )
    await open_space(page, place, place.desk.id, start, 2)
    await page.check("#repeat")
    await page.fill("#repeat-count", "4")
    await page.dispatch_event("#repeat-count", "change")
    await expect(page.locator("#hold")).to_have_text("Book the series")

    # All or nothing: one week is taken, so none is booked, and the page says which.
    web.problems.allow(r"HTTP 409: POST \S+/series$")
    web.problems.allow(r"console error: Failed to load resource: .* 409 \(Conflict\)")
    await page.click("#hold")
    outcomes = page.locator("#series-outcomes li")
    await expect(outcomes).to_have_count(4)
    await expect(page.locator('#series-outcomes [data-outcome="slot_taken"]')).to_contain_text(
        "Taken"
    )
    await expect(page.locator('#series-outcomes [data-outcome="available"]')).to_have_count(3)

    await page.check("#repeat")
    await page.select_option("#repeat-mode", "book_available")
    await page.click("#hold")
    await expect(page.locator("#hold-message")).to_contain_text("Series booked: 3 of 4 held")
    await expect(page.locator('#series-outcomes [data-outcome="booked"]')).to_have_count(3)
    await expect(page.locator("#details")).not_to_contain_text("null")  # parts not shown
    await shoot(page, "find-series")
    series = (await web.http.get("/api/v1/me/series", headers=web.headers(place.member))).json()
    occurrences = [o["booking"] for o in series["items"][0]["occurrences"] if o["booking"]]
    for b in occurrences:  # paid as a member would, each in its hold time
        r = await web.http.post(
            f"/api/v1/bookings/{b['id']}/payment", headers=web.headers(place.member)
        )
        await confirm_card(stripe_client, r.json()["payment_intent_id"])
        await poll(lambda b=b: status_of(web, b["id"], place.member), lambda s: s == "confirmed")

    mine = await web.open("/bookings", user=place.member, width=width, height=height)
    card = mine.locator(f'[data-series="{series["items"][0]["id"]}"]')
    await expect(card.locator("[data-booking]")).to_have_count(3)
    await expect(card).to_contain_text("Every week on")
    third = occurrences[1]  # week 3 (week 2 was taken): 2 weeks ahead, the 100 % tier
    await card.locator(f'[data-booking="{third["id"]}"]').get_by_role("button").click()
    await mine.get_by_label("This and the following").check()
    refunds = mine.locator("#series-refunds li")
    await expect(refunds).to_have_count(2)
    await expect(refunds.nth(0)).to_contain_text("refund €20.00 (100%)")
    await expect(mine.locator("#series-refund-total")).to_have_text(
        "Cancelling 2: €40.00 refunded in all."
    )
    assert await axe_violations(mine) == []
    await shoot(mine, "bookings-series-cancel")
    await mine.get_by_role("button", name="Cancel them").click()
    await expect(mine.locator("#message")).to_have_text("Cancelled 2; refund €40.00.")
    for b in occurrences[1:]:
        await expect(card.locator(f'[data-booking="{b["id"]}"]')).to_have_attribute(
            "data-status", "cancelled"
        )
    await expect(card.locator(f'[data-booking="{occurrences[0]["id"]}"]')).to_have_attribute(
        "data-status", "confirmed"
    )
    await shoot(mine, "bookings-series")


async def test_member_copies_and_rotates_the_calendar_feed(web: Web, place: Place):
    page = await web.open("/bookings", user=place.member)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url)
    await page.get_by_role("button", name="Show my feed address").click()
    url = page.locator("#feed-url")
    await expect(url).to_have_value(re.compile(r"/ical/[^/]+\.ics$"))
    first = await url.input_value()
    await page.get_by_role("button", name="Copy the address").click()
    await expect(page.locator("#message")).to_have_text("Feed address copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == first
    feed = await web.http.get(urlsplit(first).path)
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    await shoot(page, "bookings-feed")

    await page.get_by_role("button", name="Make a new address").click()
    await page.get_by_role("button", name="Replace it").click()
    await expect(page.locator("#message")).to_contain_text("the old one no longer works")
    await expect(url).not_to_have_value(first)
    second = await url.input_value()
    assert (await web.http.get(urlsplit(first).path)).status_code == 404  # revoked
    assert (await web.http.get(urlsplit(second).path)).status_code == 200
