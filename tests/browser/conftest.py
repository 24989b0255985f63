"""Browser journeys: Debian's chromium driven by Playwright against a live node with localstripe.

Every page opened through `browse` fails its test on a console error, an uncaught exception,
a failed request or an HTTP error answer (favicon included), unless the test names it as
expected. `shoot` writes screenshots under build/screenshots (not committed).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from cowork.accounts.passwords import hash_password
from cowork.config import Settings
from cowork.store.models import Location, Space, User
from tests.conftest import TLS, RunningServer
from tests.factories import auth, make_location, make_space, make_user, token_for
from tests.payments_fixtures import *  # noqa: F403
from tests.payments_fixtures import with_stripe

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "browser-test-password"
WIDTHS = {"phone": 390, "desk": 1280}


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed: apt-get install chromium")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def pay_settings(settings: Settings, localstripe: str) -> Settings:
    """Payments through localstripe, whose fake Stripe.js the pages load."""
    return replace(
        with_stripe(settings, localstripe), stripe_js_url=f"{localstripe}/js.stripe.com/v3/"
    )


@dataclass
class Problems:
    """What went wrong in a page: console errors, page errors, failed requests."""

    items: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    watching: bool = True

    def add(self, text: str) -> None:
        if self.watching and not any(p.search(text) for p in self.allowed):
            self.items.append(text)

    def allow(self, pattern: str) -> None:
        """An error the test provokes on purpose (e.g. a refused request it asserts on)."""
        self.allowed.append(re.compile(pattern))


@dataclass
class Web:
    """The node, its data, and a way to open pages as somebody."""

    server: RunningServer
    http: httpx.AsyncClient
    browser: Browser
    problems: Problems
    contexts: list[BrowserContext] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    async def open(
        self,
        path: str,
        *,
        user: User | None = None,
        width: int = 1280,
        height: int = 900,
        timezone: str = "Europe/Rome",
        lang: str = "en",
        permissions: tuple[str, ...] = (),
        init_script: str | None = None,
    ) -> Page:
        """A new browser context (its own storage) on `path`, signed in as `user` if given,
        with `permissions` granted and `init_script` run before every page's own scripts."""
        context = await self.browser.new_context(
            viewport={"width": width, "height": height},
            timezone_id=timezone,
            locale="en-GB",
            base_url=self.url,
            permissions=list(permissions),
        )
        if init_script is not None:
            await context.add_init_script(init_script)
        self.contexts.append(context)
        seed: dict[str, str] = {"cowork.lang": lang}
        if user is not None:
            seed["cowork.access"] = token_for(self.server.settings, user)
            seed["cowork.user"] = json.dumps(
                {"id": user.id, "email": user.email, "name": user.name, "role": user.role}
            )
        # Only on first load: the page's own changes (sign-out, refresh) must stick.
        await context.add_init_script(
            "if (!sessionStorage.getItem('seeded')) { sessionStorage.setItem('seeded', '1');"
            f" for (const [k, v] of Object.entries({json.dumps(seed)}))"
            " localStorage.setItem(k, v); }"
        )
        page = await context.new_page()
        watch(page, self.problems)
        await page.goto(path)
        return page

    def headers(self, user: User) -> dict[str, str]:
        return auth(self.server.settings, user)


def watch(page: Page, problems: Problems) -> None:
    page.on(
        "console",
        lambda m: problems.add(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.add(f"page error: {e} {e.stack}"))
    page.on("requestfailed", lambda r: problems.add(f"request failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: (
            problems.add(f"HTTP {r.status}: {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )


@pytest.fixture
async def web(pay_server: RunningServer, browser: Browser) -> AsyncIterator[Web]:
    problems = Problems()
    # An event stream cut by leaving or closing a page is not a failure of the page.
    problems.allow(r"request failed: \S+/api/v1/streams/\S+ net::ERR_ABORTED")
    async with httpx.AsyncClient(base_url=pay_server.url, timeout=30, verify=TLS) as http:
        w = Web(pay_server, http, browser, problems)
        try:
            yield w
        finally:
            problems.watching = False
            for context in w.contexts:
                await context.close()
    assert problems.items == [], "\n".join(problems.items)


@dataclass
class Place:
    """A location drawn like a real one: named spaces with floor geometry, people with logins."""

    loc: Location
    desk: Space  # paid: 10.00 EUR an hour
    room: Space  # paid meeting room, 6 seats
    booth: Space  # free of charge
    member: User
    other: User
    manager: User
    admin: User


_password_hash: list[str] = []


async def user_with_password(role: str = "member", **kwargs: Any) -> User:
    """A user who signs in with PASSWORD. Its argon2 hash is made once per run and given to
    every such user: hashing is slow on purpose (~0.2 s), and every test made four. Signing in
    still verifies the password against a real hash."""
    if not _password_hash:
        _password_hash.append(await hash_password(PASSWORD))
    return await make_user(role, password_hash=_password_hash[0], **kwargs)


@pytest.fixture
async def place(web: Web) -> Place:
    loc = await make_location(
        name="Cowork Test Centrale",
        address="Via Roma 1",
        floors=[{"level": 0, "name": "Ground", "width": 60, "height": 30}],
        booking_rules={"check_in_early_minutes": 30},  # a booking from soon() can check in
    )
    desk = await make_space(
        loc, name="Desk A", hourly_price_cents=1000, x=2, y=2, width=12, height=9,
        amenities=("wifi",),
    )  # fmt: skip
    room = await make_space(
        loc, name="Room B", type="meeting_room", capacity=6, hourly_price_cents=3000,
        x=18, y=2, width=20, height=12, amenities=("wifi", "projector"),
    )  # fmt: skip
    booth = await make_space(loc, name="Booth C", type="phone_booth", x=42, y=2, width=10, height=9)
    return Place(
        loc,
        desk,
        room,
        booth,
        member=await user_with_password(),
        other=await user_with_password(),
        manager=await user_with_password("manager", managed=(loc,)),
        admin=await user_with_password("admin"),
    )


def soon() -> datetime:
    """The next quarter hour at least a minute away: bookable now, inside check-in's window."""
    t = datetime.now(UTC) + timedelta(minutes=1)
    return t.replace(second=0, microsecond=0) + timedelta(minutes=-t.minute % 15)


async def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot under build/screenshots (for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SCREENSHOTS / f"{name}-{width}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


async def axe_violations(page: Page) -> list[str]:
    """WCAG 2.2 AA violations axe-core finds in the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())  # evaluate is not subject to the page's CSP
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
    ]


Poll = Callable[[], Awaitable[Any]]
