"""My bookings, "Notify me on this device": the page registers the service worker (/sw.js),
subscribes with the node's VAPID key, registers the subscription as a device that then gets
the member's pushes, shows what arrives, and "stop" removes it; in English and Italian.

Headless Chromium cannot make a real PushSubscription here: Playwright's contexts are
incognito (Chromium refuses the Push API there) and a persistent profile waits forever for
Google's push service, which this machine cannot reach. So the browser's push service is the
one stand-in: `PushManager.subscribe` answers with a subscription to the test's push service,
whose keys the test holds (it decrypts what the node sends). Everything of ours is real: the
page's code, the service worker, the API, the delivery worker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, expect

from cowork.notify.vapid import generate_private_key, load_vapid, public_key_b64
from tests.browser.conftest import Place, Web, shoot, watch
from tests.browser.test_my_bookings import book
from tests.conftest import notify_test_settings
from tests.notify_fakes import Browser, PushService, notify_settings
from tests.payments_fixtures import at
from tests.polling import poll

expect.set_options(timeout=20_000)
VAPID = generate_private_key()
VAPID_PUBLIC = public_key_b64(load_vapid(VAPID))

# The browser's push service, standing in for Google's: a subscription to the test's service.
PUSH_SERVICE = """
(sub => {
  const stored = () => localStorage.getItem('test.subscribed') === '1';
  const made = () => ({
    endpoint: sub.endpoint,
    toJSON: () => sub,
    unsubscribe: async () => { localStorage.removeItem('test.subscribed'); return true; },
  });
  PushManager.prototype.getSubscription = async function () { return stored() ? made() : null; };
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem('test.key', btoa(String.fromCharCode(...key))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''));
    localStorage.setItem('test.subscribed', '1');
    return made();
  };
})(SUBSCRIPTION);
"""


@pytest.fixture
async def settings(database_url, infra):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            worker=True, vapid_private_key=VAPID, public_url="https://cowork.test"
        ),
    ) as s:
        yield s


async def devices(web: Web, place: Place) -> list[dict[str, Any]]:
    r = await web.http.get("/api/v1/me/devices", headers=web.headers(place.member))
    return list(r.json()["items"])


async def on_this_device(web: Web, place: Place, browser: Browser, push: PushService) -> Page:
    script = PUSH_SERVICE.replace(
        "SUBSCRIPTION", json.dumps(browser.subscription(f"{push.url}/push/this-browser"))
    )
    return await web.open(
        "/bookings", user=place.member, permissions=("notifications",), init_script=script
    )


async def test_the_button_registers_this_device_and_stop_removes_it(
    web: Web, place: Place, push: PushService
):
    """Fails if the button does not subscribe with the node's key, register the device (that
    then receives the member's pushes), keep its state across a reload, or if "stop" leaves
    the device registered."""
    browser = Browser()
    page = await on_this_device(web, place, browser, push)
    section = page.locator("#push")
    await expect(section).to_contain_text("Get a notification on this device")
    await shoot(page, "bookings-push-off")
    await page.get_by_role("button", name="Notify me on this device").click()
    await expect(section).to_contain_text("Notifications are on for this device.")
    await expect(
        page.get_by_role("button", name="Stop notifications on this device")
    ).to_be_visible()

    (device,) = await poll(lambda: devices(web, place), lambda ds: len(ds) == 1)
    assert (device["kind"], device["hint"], device["locale"]) == ("webpush", "127.0.0.1", "en")
    assert await page.evaluate("localStorage.getItem('test.key')") == VAPID_PUBLIC
    worker = await page.evaluate(
        "navigator.serviceWorker.getRegistration('/').then(r => r?.active?.scriptURL)"
    )
    assert worker == f"{web.url}/sw.js"

    booking = await book(web, place.booth.id, place.member, at(30))
    await poll(lambda: _received(push), lambda n: n == 1)
    payload = browser.decrypt(push.received[0].body)
    assert (payload["type"], payload["booking_id"]) == ("booking.confirmed", booking["id"])

    again = await page.context.new_page()  # another tab of the same browser: still on
    watch(again, web.problems)
    await again.goto("/bookings")
    section = again.locator("#push")
    await expect(section).to_contain_text("This device gets a notification")
    await again.get_by_role("button", name="Stop notifications on this device").click()
    await expect(section).to_contain_text("Notifications are off for this device.")
    await poll(lambda: devices(web, place), lambda ds: ds == [])
    await expect(again.get_by_role("button", name="Notify me on this device")).to_be_visible()


async def test_the_service_worker_shows_what_arrives(web: Web, place: Place, push: PushService):
    """Fails if /sw.js does not turn a push into a notification with its title, body and tag
    (a push the browser receives would show nothing)."""
    page = await on_this_device(web, place, Browser(), push)
    await page.get_by_role("button", name="Notify me on this device").click()
    await expect(page.locator("#push")).to_contain_text("Notifications are on")
    cdp = await page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await poll(_ready(registrations), lambda ids: bool(ids))
    data = {"title": "Booking confirmed", "body": "Booth C, today", "tag": "booking-7",
            "url": f"{web.url}/bookings"}  # fmt: skip
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": web.url,
            "registrationId": registrations[0]["registrationId"],
            "data": json.dumps(data),
        },
    )
    shown = await poll(
        lambda: page.evaluate(
            "navigator.serviceWorker.getRegistration('/').then(r => r.getNotifications())"
            ".then(ns => ns.map(n => [n.title, n.body, n.tag]))"
        ),
        lambda ns: bool(ns),
    )
    assert shown == [["Booking confirmed", "Booth C, today", "booking-7"]]


async def test_the_button_speaks_italian(web: Web, place: Place):
    page = await web.open("/bookings", user=place.member, lang="it")
    await expect(page.get_by_role("button", name="Avvisami su questo dispositivo")).to_be_visible()
    await expect(page.locator("#push-state")).to_contain_text("Ricevi una notifica")


def _ready(registrations: list[dict[str, Any]]) -> Any:
    async def ids() -> list[str]:
        return [r["registrationId"] for r in registrations if not r.get("isDeleted")]

    return ids


async def _received(push: PushService) -> int:
    return len(push.received)
