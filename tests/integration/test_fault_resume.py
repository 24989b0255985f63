"""Fault: a client resuming from an id the stream cannot serve as a replay: more missed events
than a client should be sent at once, or an id newer than the stream itself (the stream was
recreated, or the id came from another cluster). Either way it gets `resync`, then live events.
"""

from __future__ import annotations

import pytest

from tests.conftest import test_settings as settings_for
from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    WsClient,
    booking_facts,
    emit,
    emit_many,
    eventually,
)

REPLAY_MAX = 3
FAR_AHEAD = 10**12


@pytest.fixture
def settings(database_url, infra):
    return settings_for(database_url, infra.nats_url, replay_max_events=REPLAY_MAX)


@pytest.fixture
async def place(server):
    loc = await make_location()
    return loc, await make_space(loc), await make_user()


async def all_published(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


@pytest.mark.parametrize("gap", ["more than replay_max_events", "id newer than the stream"])
async def test_resume_that_cannot_replay_gets_resync_then_live(server, db, place, gap):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    async with SseClient(server.url, path) as sse:
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        first = await sse.next()
    await emit_many(server.app, space, member.id, REPLAY_MAX + 2, first_id=10)
    await eventually(lambda: all_published(db), what="outbox published")
    after = first.id if gap == "more than replay_max_events" else FAR_AHEAD
    assert after is not None

    async with SseClient(server.url, path, headers={"Last-Event-ID": str(after)}) as sse:
        resync = await sse.next()
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 99))
        live = await sse.next()
    assert resync.event == "resync", resync  # not a partial replay, not silence
    assert resync.id is not None and resync.id > first.id
    assert live.event == "booking.confirmed" and live.id > resync.id

    async with WsClient(server.url) as ws:
        await ws.send(type="subscribe", channel=f"location:{loc.id}", last_event_id=after)
        await ws.expect("subscribed")
        message = await ws.expect("resync")
    assert message["id"] >= live.id
