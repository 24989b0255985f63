"""Browser latency: a booking change committed on the node → the change drawn on every open
floor map and kiosk, measured in real Chromium pages (Debian's, driven by Playwright).

    .venv/bin/python -m bench.web [--maps 4] [--changes 200] [--rate 4]

Against one `python -m cowork serve` process (bench/common.py `node()`): `--maps` find pages
open on the location at the instant the holds cover (`#location=L&at=...`), one kiosk page,
and one plain SSE reader in this process as the floor (the same event, no browser). This
process then alternates hold / cancel on the location's spaces at `--rate` changes per second
(open loop). Each page records, with a MutationObserver, when a space's drawn status (map) or
its "next" line (kiosk) changes, in wall-clock ms (`performance.timeOrigin + now()`); the
latency of a change is that time minus the event's `at` (the outbox row's `now()`, written in
the change's transaction, so a few ms before its commit). Same machine, same clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
OBSERVE_MAP = """() => {
  window.__seen = [];
  new MutationObserver((records) => {
    const t = performance.timeOrigin + performance.now();
    for (const r of records) {
      const g = r.target.closest?.('[data-space]');
      if (g) window.__seen.push([Number(g.dataset.space), g.dataset.status, t]);
    }
  }).observe(document.getElementById('floors'), {subtree: true, attributes: true, attributeFilter: ['data-status']});
}"""
OBSERVE_KIOSK = """() => {
  window.__seen = [];
  new MutationObserver((records) => {
    const t = performance.timeOrigin + performance.now();
    for (const r of records) {
      const card = (r.target.nodeType === 1 ? r.target : r.target.parentElement).closest('.card');
      if (card) window.__seen.push([Number(card.dataset.space), card.querySelector('.card-next').textContent, t]);
    }
  }).observe(document.getElementById('board'), {subtree: true, childList: true, characterData: true});
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(name: str, values: list[float], expected: int) -> str:
    if not values:
        return f"{name}: no samples (of {expected})"
    return (
        f"{name}: {len(values)}/{expected} changes seen, p50 {statistics.median(values):.1f} ms, "
        f"p90 {pct(values, 0.9):.1f} ms, p99 {pct(values, 0.99):.1f} ms, max {max(values):.1f} ms"
    )


Event = tuple[int, str, float, float]  # space, type, at (ms), latency to a plain SSE client (ms)


async def sse_floor(url: str, seen: list[Event], ready: asyncio.Event) -> None:
    """The same events read by a plain SSE client: what the browser cannot beat."""
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url) as r:
        ready.set()
        async for raw in r.content:
            line = raw.decode()
            if line.startswith("data: "):
                env = json.loads(line[6:])
                if env.get("type", "").startswith("booking."):
                    at = _ms(env["at"])
                    seen.append((int(env["space_id"]), env["type"], at, time.time() * 1000 - at))


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000


async def run(url: str, loc: int, spaces: list[int], users: list[int], args: Any) -> list[str]:
    import aiohttp
    from playwright.async_api import async_playwright

    from bench.common import JWT_SECRET
    from cowork.accounts.tokens import Principal, Role, TokenKind, issue

    now = datetime.now(UTC)
    admin = issue(JWT_SECRET, Principal(users[0], Role.ADMIN), TokenKind.ACCESS, 7200, now=now)
    start = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    body = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    at = (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    floor_seen: list[Event] = []
    async with async_playwright() as p, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {admin}"}
        async with http.post(f"{url}/api/v1/admin/kiosks", json={"location_id": loc, "name": "k"},
                             headers=auth) as r:  # fmt: skip
            token = (await r.json())["token"]
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        pages = []
        for _ in range(args.maps):
            page = await (await browser.new_context(timezone_id="Europe/Rome")).new_page()
            await page.goto(f"{url}/#location={loc}&at={at}")
            await page.wait_for_selector(f'[data-space="{spaces[-1]}"]')
            await page.wait_for_selector('#live[data-state="live"]')
            await page.evaluate(OBSERVE_MAP)
            pages.append(("map", page))
        kiosk = await (await browser.new_context(timezone_id="Europe/Rome")).new_page()
        await kiosk.goto(f"{url}/kiosk?token={token}")
        await kiosk.wait_for_selector(f'.card[data-space="{spaces[-1]}"]')
        await kiosk.wait_for_selector('#live[data-state="live"]')
        await kiosk.evaluate(OBSERVE_KIOSK)
        pages.append(("kiosk", kiosk))
        ready = asyncio.Event()
        reader = asyncio.create_task(
            sse_floor(f"{url}/api/v1/streams/locations/{loc}", floor_seen, ready)
        )
        await ready.wait()

        # Alternate hold / cancel per space: every change flips what the pages draw.
        held: dict[int, int] = {}
        loop = asyncio.get_running_loop()
        began = loop.time()
        for i in range(args.changes):
            await asyncio.sleep(max(0.0, began + i / args.rate - loop.time()))
            space = spaces[(i // 2) % len(spaces)]
            if space not in held:
                async with http.post(f"{url}/api/v1/spaces/{space}/bookings", json=body,
                                     headers=auth) as r:  # fmt: skip
                    held[space] = (await r.json())["id"]
            else:
                booking = held.pop(space)
                async with http.post(f"{url}/api/v1/spaces/{space}/bookings/{booking}/cancel",
                                     headers=auth) as r:  # fmt: skip
                    await r.read()
        await asyncio.sleep(2)  # the last events settle
        reader.cancel()
        results: dict[str, list[float]] = {"map": [], "kiosk": []}
        for kind, page in pages:
            results[kind] += _match(await page.evaluate("window.__seen"), floor_seen)
        await browser.close()
    floor = [e[3] for e in floor_seen]
    return [
        summary(f"plain SSE client (floor), {args.changes} changes", floor, args.changes),
        summary(f"floor map, {args.maps} pages", results["map"], args.changes * args.maps),
        summary("kiosk, 1 page", results["kiosk"], args.changes),
    ]


def _match(seen: list[list[Any]], events: list[Event]) -> list[float]:
    """For each event, the first change the page drew on that space after it."""
    latencies = []
    by_space: dict[int, list[tuple[str, float]]] = {}
    for space, status, t in seen:
        by_space.setdefault(space, []).append((status, t))
    for space, _type, at, _floor in events:
        later = [t for _, t in by_space.get(space, []) if t >= at]
        if later:
            latencies.append(min(later) - at)
            by_space[space].remove(next(x for x in by_space[space] if x[1] == min(later)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=4, help="open floor-map pages")
    parser.add_argument("--changes", type=int, default=200, help="holds and cancels, in total")
    parser.add_argument("--rate", type=float, default=4.0, help="changes per second")
    parser.add_argument("--spaces", type=int, default=10)
    args = parser.parse_args()

    from bench.common import node, seed, stack

    print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    with stack() as s:
        loc, spaces, users = asyncio.run(seed(s.database_url, args.spaces, 2))
        with node(s, "web-1") as url:
            for line in asyncio.run(run(url, loc, spaces, users, args)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
