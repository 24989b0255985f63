"""At least once, and once per device: a node killed after it pushed but before JetStream heard
its ack gets the event redelivered to another node, which must not push it again."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from cowork.notify.vapid import generate_private_key
from cowork.realtime.bus import Bus
from cowork.realtime.stream import STREAM
from tests.conftest import notify_test_settings
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import (
    Browser,
    TcpProxy,
    notify_settings,
    running_worker,
)
from tests.polling import poll

VAPID = generate_private_key()
ACK_WAIT = 3.0


@pytest.fixture
async def settings(database_url, infra):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        node_id="node-survivor",
        notify=notify_settings(vapid_private_key=VAPID, ack_wait_seconds=ACK_WAIT),
    ) as s:
        yield s


@pytest.fixture
async def proxy(infra):
    nats = urlsplit(infra.nats_url)
    p = TcpProxy(nats.hostname or "127.0.0.1", nats.port or 4222)
    await p.start()
    yield p
    p.cut()


@pytest.fixture
def doomed_node(settings, proxy, tmp_path):
    """A delivery-only node whose NATS connection goes through the proxy."""
    config = {
        "database_url": settings.database_url,
        "nats_url": f"nats://127.0.0.1:{proxy.port}",
        "consumer": settings.notify.consumer,
        "vapid": VAPID,
        "node_id": "node-doomed",
        "ack_wait": str(ACK_WAIT),
    }
    log = (tmp_path / "doomed.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.notify_node", json.dumps(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    log.close()


async def consumer_state(nats_url: str, name: str) -> tuple[int, int] | None:
    """(acks pending, messages redelivered) of the durable, or None before it exists."""
    bus = Bus(nats_url, "notify-probe")
    await bus.connect()
    try:
        info = await bus.js.consumer_info(STREAM, name)
        return info.num_ack_pending or 0, info.num_redelivered or 0
    except Exception:  # noqa: BLE001 (not created yet)
        return None
    finally:
        await bus.close()


async def test_a_node_killed_between_send_and_ack_does_not_push_twice(
    server, client, settings, proxy, push, doomed_node, db
):
    """Fails without the (event, device) key in PostgreSQL: the survivor would push both
    devices again when JetStream redelivers the unacked event."""
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    headers = auth(server.settings, member)
    for name in ("phone", "laptop"):
        body = {
            "kind": "webpush",
            "subscription": Browser().subscription(f"{push.url}/push/{name}"),
        }
        r = await client.post("/api/v1/me/devices", json=body, headers=headers)
        assert r.status_code == 201, r.text

    consumer = settings.notify.consumer
    await poll(lambda: consumer_state(settings.nats_url, consumer), lambda s: s is not None)

    async def fail_the_network() -> None:
        proxy.cut()  # the doomed node's ack will never reach NATS

    push.on_request = fail_the_network
    r = await client.post(f"/api/v1/spaces/{space.id}/bookings", json=slot(at(48)), headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "confirmed"

    sent = "SELECT count(*) FROM notify_deliveries WHERE state = 'sent'"
    await poll(lambda: db.fetchval(sent), lambda n: n == 2)  # pushed and recorded …
    doomed_node.kill()  # … and killed before the ack got anywhere
    doomed_node.wait(timeout=10)
    assert len(push.received) == 2
    pending = await consumer_state(settings.nats_url, consumer)
    assert pending is not None and pending[0] >= 1  # the confirmation is unacked, waiting

    push.on_request = None
    async with running_worker(server.settings) as survivor:
        duplicates = survivor.metrics.duplicates

        async def deduplicated() -> float:
            return duplicates._value.get()

        await poll(deduplicated, lambda n: n == 2)  # redelivered, found in the log
        await poll(lambda: consumer_state(settings.nats_url, consumer), lambda s: s == (0, 0))
    assert sorted(r.path for r in push.received) == ["/push/laptop", "/push/phone"]
    rows = await db.fetch("SELECT state, attempts FROM notify_deliveries")
    assert [(r["state"], r["attempts"]) for r in rows] == [("sent", 1), ("sent", 1)]
