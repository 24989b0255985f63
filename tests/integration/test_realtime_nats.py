"""Tests that own their nats-server: tiny retention (resync) and a NATS outage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cowork.devstack import ChildProcess, free_port, start_nats
from tests.conftest import test_settings as settings_for
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    WsClient,
    booking_facts,
    emit,
    emit_many,
    eventually,
    stream_token,
)

RETAINED = 3


@dataclass
class OwnNats:
    run_dir: Path
    store_dir: Path
    port: int
    url: str
    child: ChildProcess

    def stop(self) -> None:
        self.child.stop()

    def restart(self) -> None:
        self.child, _ = start_nats(self.run_dir, self.store_dir, port=self.port)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    tmp_path.chmod(0o755)
    port = free_port()
    child, url = start_nats(tmp_path / "run", tmp_path / "js", port=port)
    nats = OwnNats(tmp_path / "run", tmp_path / "js", port, url, child)
    try:
        yield nats
    finally:
        nats.stop()


@pytest.fixture
def settings(database_url, own_nats):
    # The server fixture runs on this NATS, whose stream keeps only the last few events.
    return settings_for(database_url, own_nats.url, stream_max_msgs=RETAINED)


@pytest.fixture
async def place(server):
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    return loc, space, member


async def all_published(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_id_older_than_retention_gets_resync(server, db, place):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    async with SseClient(server.url, path) as sse:
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        first = await sse.next()
    # Each change writes two rows (public + personal): this pushes `first` out of the stream.
    await emit_many(server.app, space, member.id, RETAINED, first_id=10)
    await eventually(lambda: all_published(db), what="outbox published")
    async with SseClient(server.url, path, headers={"Last-Event-ID": str(first.id)}) as sse:
        resync = await sse.next()
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 99))
        live = await sse.next()
    assert resync.event == "resync"
    assert resync.id is not None
    assert resync.id > first.id
    assert resync.data["type"] == "resync"
    assert live.event == "booking.confirmed"
    assert live.id > resync.id

    # The same over the websocket.
    async with WsClient(server.url) as ws:
        await ws.send(type="subscribe", channel=f"location:{loc.id}", last_event_id=first.id)
        await ws.expect("subscribed")
        msg = await ws.expect("resync")
    assert msg["channel"] == f"location:{loc.id}"
    assert msg["id"] >= live.id


async def test_id_still_retained_replays_without_resync(server, db, place):
    _, space, member = place
    path = f"/api/v1/streams/spaces/{space.id}"
    async with SseClient(server.url, path) as sse:
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        first = await sse.next()
    await emit(server.app, "booking.held", booking_facts(space, member.id, 2))
    await eventually(lambda: all_published(db), what="outbox published")
    async with SseClient(server.url, path, headers={"Last-Event-ID": str(first.id)}) as sse:
        got = await sse.next()
    assert got.event == "booking.held"
    assert got.data["data"]["booking_id"] == 2


async def test_nats_outage_loses_and_duplicates_nothing(server, db, place, own_nats):
    loc, space, member = place
    token = stream_token(server.settings, member.id)
    async with (
        SseClient(server.url, f"/api/v1/streams/locations/{loc.id}") as by_location,
        SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as by_space,
        SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as mine,
        WsClient(server.url) as ws,
    ):
        await ws.send(type="subscribe", channel=f"space:{space.id}")
        await ws.expect("subscribed")
        own_nats.stop()
        await emit_many(server.app, space, member.id, 20, first_id=100)
        assert not await all_published(db)  # they wait in the outbox
        own_nats.restart()

        expected = list(range(100, 120))
        for sse in (by_location, by_space, mine):
            got = await sse.take(20)
            assert [e.data["data"]["booking_id"] for e in got] == expected
            assert len({e.id for e in got}) == 20
        got_ws = await ws.events(20)
        assert [e["data"]["booking_id"] for e in got_ws] == expected

        # Nothing comes twice: the next event everyone sees is a new one.
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 999))
        for sse in (by_location, by_space, mine):
            assert (await sse.next()).data["data"]["booking_id"] == 999
        (after,) = await ws.events(1)
        assert after["data"]["booking_id"] == 999
    # Rows are marked in the relay's transaction, which may commit after delivery.
    await eventually(lambda: all_published(db), what="every row marked published")
