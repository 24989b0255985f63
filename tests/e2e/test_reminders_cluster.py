"""A reminder fires once with two nodes running: both timers wake at its instant (they read
the same next deadline), one fires it, and the member's browser gets one push."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from cowork.notify.vapid import generate_private_key
from tests.e2e.nodes import start_together
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import Browser, delete_consumer
from tests.polling import poll

pytestmark = pytest.mark.e2e

LEAD = 30


@pytest.fixture
async def notify_env(infra):
    # The nodes' durable starts afresh: one left by an earlier test (`cowork cluster` nodes
    # push too) would hand them that test's events, for users with the same ids as ours.
    await delete_consumer(infra.nats_url, "cowork-notify")
    yield {
        "VAPID_PRIVATE_KEY": generate_private_key(),
        "COWORK_PUBLIC_URL": "https://cowork.test",
        # The reminder is moved in the database, so the timers find it at a sweep (every 5 s
        # by default): sweeping every second, both race for it sooner and the test waits less.
        "COWORK_TIMER_MAX_SLEEP_SECONDS": "1",
    }
    await delete_consumer(infra.nats_url, "cowork-notify")


async def test_two_nodes_push_one_reminder_once(orm, cluster, db, push, notify_env):
    """Fails if both nodes' timers fire the reminder (two events, two pushes), or neither."""
    space = await make_space(await make_location())
    member = await make_user()
    nodes = await start_together(cluster, "remind-a", "remind-b", **notify_env)
    browser = Browser()
    headers = bearer(member.id)
    async with httpx.AsyncClient(timeout=10) as http:
        device = {"kind": "webpush", "subscription": browser.subscription(f"{push.url}/push/1")}
        r = await http.post(f"{nodes[0].url}/api/v1/me/devices", json=device, headers=headers)
        assert r.status_code == 201, r.text
        prefs = {"push": ["reminder"], "email": [], "reminder_lead_minutes": LEAD}
        r = await http.put(
            f"{nodes[1].url}/api/v1/me/notification-preferences", json=prefs, headers=headers
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            f"{nodes[0].url}/api/v1/spaces/{space.id}/bookings", json=slot(at(48)), headers=headers
        )
        assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    # A short lead without waiting half an hour: the booking (made an hour "ago") now starts
    # just over LEAD minutes from now, so its reminder is due in two seconds.
    await db.execute(
        "UPDATE bookings SET created_at = now() - interval '1 hour', "
        f"starts_at = now() + interval '{LEAD} minutes 2 seconds', "
        f"ends_at = now() + interval '{LEAD + 60} minutes 2 seconds' WHERE id = $1",
        r.json()["id"],
    )

    await poll(lambda: _sent(db), lambda n: n == 1, timeout=40)
    fired_at = await db.fetchval("SELECT max(fired_at) FROM booking_reminders")
    # Both timers have swept since (a second firing would be in the outbox by now).
    admin = bearer((await make_user("admin")).id)
    async with httpx.AsyncClient(timeout=10) as http:
        timers = await poll(
            lambda: _timers(http, nodes, admin),
            lambda ts: all(_after(t["last_sweep_at"], fired_at) for t in ts),
        )
    assert sum(t["reminders_fired"] for t in timers) == 1
    assert len(push.received) == 1
    payload = browser.decrypt(push.received[0].body)
    assert payload["type"] == "booking.reminder" and payload["booking_id"] == r.json()["id"]
    assert payload["title"] == f"Starts in {LEAD} minutes"
    events = await db.fetchval("SELECT count(*) FROM outbox WHERE type = 'booking.reminder'")
    assert events == 1
    fired = await db.fetch("SELECT node_id FROM booking_reminders")
    assert len(fired) == 1 and fired[0]["node_id"] in {"remind-a", "remind-b"}


def _after(iso: str | None, instant: datetime) -> bool:
    return iso is not None and datetime.fromisoformat(iso) > instant


async def _timers(http, nodes, headers) -> list[dict]:
    answers = [await http.get(f"{n.url}/api/v1/admin/expiries", headers=headers) for n in nodes]
    return [a.json()["timer"] for a in answers]


async def _sent(db) -> int:
    return await db.fetchval("SELECT count(*) FROM notify_deliveries WHERE state = 'sent'")
