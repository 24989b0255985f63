"""A forgotten password in the web app: "Forgot your password?" sends the link (through the
node's mail channel to an SMTP server written for the test), the link opens a dialog to
choose a new one, and the member signs in with it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PASSWORD, Place, Web
from tests.conftest import notify_test_settings
from tests.notify_fakes import SmtpSink, notify_settings, smtp_channel
from tests.polling import poll

expect.set_options(timeout=20_000)
NEW_PASSWORD = "another long passphrase"


@pytest.fixture
async def settings(database_url, infra, smtp):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            worker=True,
            **smtp_channel(smtp),
        ),
    ) as s:
        yield s


async def test_a_member_resets_a_forgotten_password_from_the_sign_in_dialog(
    web: Web, place: Place, smtp: SmtpSink
):
    """Fails if the sign-in dialog offers no way to ask for a link, the link does not open a
    way to choose a password, or the new password does not sign in."""
    page = await web.open("/")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Email").fill(place.member.email)
    await page.get_by_role("button", name="Forgot your password?").click()
    await expect(page.get_by_label("Email")).to_have_value(place.member.email)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("dialog")).to_contain_text("If an account uses this address")

    text = await poll(lambda: _first_mail(smtp), lambda body: body is not None)
    token = re.search(r"/#password-reset=([\w-]+)", text or "")
    assert token, text
    page = await web.open(f"/#password-reset={token.group(1)}")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Choose a new password")
    assert "password-reset" not in await page.evaluate("location.href")  # out of the bar
    await page.get_by_role("textbox", name="New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save the password").click()
    await expect(dialog).to_contain_text("Your password is changed")
    await dialog.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Email").fill(place.member.email)
    web.problems.allow(r"HTTP 401: POST \S+/api/v1/auth/login")  # the old password, below
    web.problems.allow(r"console error: Failed to load resource: .* 401")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.locator("dialog").get_by_role("button", name="Sign in").click()
    await expect(page.locator("dialog [role=alert]")).not_to_be_empty()  # the old one is refused
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.locator("dialog").get_by_role("button", name="Sign in").click()
    await expect(page.locator("#shell .who")).to_have_text(place.member.name)


async def _first_mail(smtp: SmtpSink) -> str | None:
    if not smtp.messages:
        return None
    return str(smtp.messages[0].get_body(("plain",)).get_content())
