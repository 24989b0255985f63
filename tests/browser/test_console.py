"""Manager console: hours and closures reach a member's open timeline live, a space dragged on
the floor plan moves on every open map, bookings export as CSV, the dashboard follows events."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.browser.conftest import Place, Web, shoot
from tests.browser.test_my_bookings import book
from tests.payments_fixtures import at

expect.set_options(timeout=20_000)
ROME = ZoneInfo("Europe/Rome")
DASH = "\u2013"  # the en dash the page puts between two times
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def test_hours_and_a_closure_reach_the_members_open_timeline(web: Web, place: Place):
    day = (datetime.now(ROME) + timedelta(days=3)).date()
    member = await web.open(f"/#location={place.loc.id}")
    await member.fill("#date", day.isoformat())
    await member.dispatch_event("#date", "change")
    await member.click(f'[data-space="{place.room.id}"]')
    timeline = member.locator(".timeline-list")
    await expect(timeline).to_contain_text(f"00:00{DASH}24:00 Free")

    manager = await web.open(f"/manage#location={place.loc.id}&tab=hours", user=place.manager)
    weekday = DAYS[day.weekday()]
    await manager.fill(f"#open-{weekday}", "09:00")
    await manager.fill(f"#close-{weekday}", "13:00")
    await manager.get_by_role("button", name="Save hours").click()
    await expect(manager.locator("#message")).to_have_text("Saved.")
    # location.updated reaches the member's page, which re-reads the day: no reload.
    await expect(timeline).to_contain_text(f"09:00{DASH}13:00 Free")

    await manager.fill("#closure-start", day.isoformat())
    await manager.fill("#closure-end", day.isoformat())
    await manager.fill("#closure-reason", "Floor works")
    await manager.get_by_role("button", name="Add closure").click()
    await expect(manager.locator("#closure-list")).to_contain_text("Floor works")
    await expect(timeline).to_contain_text("Closed all day.")
    await shoot(manager, "manage-hours")


async def test_a_space_dragged_on_the_plan_moves_on_every_open_map(web: Web, place: Place):
    member = await web.open(f"/#location={place.loc.id}")
    member_desk = member.locator(f'[data-space="{place.desk.id}"] rect')
    await expect(member_desk).to_have_attribute("x", "2")

    manager = await web.open(f"/manage#location={place.loc.id}&tab=spaces", user=place.manager)
    desk = manager.locator(f'#edit-floors [data-space="{place.desk.id}"]')
    box = await desk.bounding_box()
    assert box is not None
    scale = box["width"] / place.desk.width  # screen pixels per plan unit
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await manager.mouse.move(x, y)
    await manager.mouse.down()
    await manager.mouse.move(x + 5 * scale, y + 10 * scale, steps=8)
    await manager.mouse.up()
    await expect(manager.locator("#message")).to_have_text("Desk A moved.")

    await expect(member_desk).to_have_attribute("x", "7")
    await expect(member_desk).to_have_attribute("y", "12")
    saved = await web.http.get(f"/api/v1/spaces/{place.desk.id}")
    assert (saved.json()["x"], saved.json()["y"]) == (7, 12)
    await shoot(manager, "manage-spaces")


async def test_arrow_keys_move_a_space_for_keyboard_users(web: Web, place: Place):
    manager = await web.open(f"/manage#location={place.loc.id}&tab=spaces", user=place.manager)
    desk = manager.locator(f'#edit-floors [data-space="{place.booth.id}"]')
    await desk.focus()
    await desk.press("ArrowDown")
    await expect(manager.locator("#message")).to_have_text("Booth C moved.")
    saved = await web.http.get(f"/api/v1/spaces/{place.booth.id}")
    assert saved.json()["y"] == 3


async def test_manager_exports_the_bookings_as_csv(web: Web, place: Place):
    booking = await book(web, place.booth.id, place.member, at(26))
    manager = await web.open(f"/manage#location={place.loc.id}&tab=bookings", user=place.manager)
    await expect(manager.locator(f'tr[data-booking="{booking["id"]}"]')).to_contain_text(
        place.member.email
    )
    async with manager.expect_download() as info:
        await manager.get_by_role("button", name="Export CSV").click()
    download = await info.value
    text = Path(await download.path()).read_text(encoding="utf-8")  # noqa: ASYNC240
    assert download.suggested_filename == f"bookings-{place.loc.id}.csv"
    assert place.member.email in text
    assert str(booking["id"]) in text
    await shoot(manager, "manage-bookings")


async def test_dashboard_counts_follow_the_location_stream(web: Web, place: Place):
    manager = await web.open(f"/manage#location={place.loc.id}", user=place.manager)
    arrivals = manager.locator('[data-stat="arrivals"] .value')
    await expect(arrivals).to_have_text("0")
    await book(web, place.booth.id, place.member, at(1))  # free: confirmed, arriving within 2 h
    await expect(arrivals).to_have_text("1")
    await expect(manager.locator("#panel-dashboard")).to_contain_text("Booth C")
    await shoot(manager, "manage-dashboard")
