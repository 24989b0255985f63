"""Resume with Last-Event-ID: exactly the missed events, in order, once, then live."""

from __future__ import annotations

import pytest

from tests.factories import make_location, make_space, make_user
from tests.integration.test_realtime_support import (
    SseClient,
    WsClient,
    booking_facts,
    emit,
    emit_many,
    eventually,
)


@pytest.fixture
async def place(server):
    loc = await make_location()
    space = await make_space(loc)
    member = await make_user()
    return loc, space, member


async def all_published(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def missed_five(server, db, space, member, path: str) -> int:
    """Read one event, disconnect, let 5 more reach the stream; returns the last id seen."""
    async with SseClient(server.url, path) as sse:
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        first = await sse.next()
    await emit_many(server.app, space, member.id, 5, first_id=10)
    await eventually(lambda: all_published(db), what="outbox published")
    assert first.id is not None
    return first.id


@pytest.mark.parametrize("how", ["header", "query"])
async def test_sse_resume_gets_exactly_the_missed_events(server, db, place, how):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    last = await missed_five(server, db, space, member, path)
    headers = {"Last-Event-ID": str(last)} if how == "header" else {}
    params = {"last_event_id": str(last)} if how == "query" else {}
    async with SseClient(server.url, path, headers=headers, params=params) as sse:
        replayed = await sse.take(5)
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 99))
        live = await sse.next()
    assert [e.data["data"]["booking_id"] for e in replayed] == [10, 11, 12, 13, 14]
    ids = [e.id for e in replayed]
    assert ids == sorted(ids)
    assert ids[0] > last
    assert len(set(ids)) == 5
    # The next event is the new one: nothing replayed twice, nothing skipped.
    assert live.data["data"]["booking_id"] == 99
    assert live.id > ids[-1]


async def test_sse_resume_on_space_and_me(server, db, place):
    from tests.integration.test_realtime_support import stream_token

    _, space, member = place
    token = stream_token(server.settings, member.id)
    async with (
        SseClient(server.url, f"/api/v1/streams/spaces/{space.id}") as by_space,
        SseClient(server.url, "/api/v1/streams/me", params={"token": token}) as mine,
    ):
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        space_last, my_last = (await by_space.next()).id, (await mine.next()).id
    await emit_many(server.app, space, member.id, 5, first_id=20)
    await eventually(lambda: all_published(db), what="outbox published")
    async with (
        SseClient(
            server.url,
            f"/api/v1/streams/spaces/{space.id}",
            headers={"Last-Event-ID": str(space_last)},
        ) as by_space,
        SseClient(
            server.url,
            "/api/v1/streams/me",
            params={"token": token, "last_event_id": str(my_last)},
        ) as mine,
    ):
        got_space = await by_space.take(5)
        got_mine = await mine.take(5)
    assert [e.data["data"]["booking_id"] for e in got_space] == [20, 21, 22, 23, 24]
    assert [e.data["data"]["booking_id"] for e in got_mine] == [20, 21, 22, 23, 24]
    assert all("price_cents" in e.data["data"] for e in got_mine)


async def test_ws_resume_with_last_event_id(server, db, place):
    loc, space, member = place
    channel = f"location:{loc.id}"
    async with WsClient(server.url) as ws:
        await ws.send(type="subscribe", channel=channel)
        await ws.expect("subscribed")
        await emit(server.app, "booking.held", booking_facts(space, member.id, 1))
        (first,) = await ws.events(1)
    await emit_many(server.app, space, member.id, 5, first_id=30)
    await eventually(lambda: all_published(db), what="outbox published")
    async with WsClient(server.url) as ws:
        await ws.send(type="subscribe", channel=channel, last_event_id=first["id"])
        await ws.expect("subscribed")
        replayed = await ws.events(5)
        await emit(server.app, "booking.confirmed", booking_facts(space, member.id, 99))
        (live,) = await ws.events(1)
    assert [e["data"]["booking_id"] for e in replayed] == [30, 31, 32, 33, 34]
    assert live["data"]["booking_id"] == 99


async def test_resume_while_events_keep_coming_has_no_gap_or_duplicate(server, db, place):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    last = await missed_five(server, db, space, member, path)
    async with SseClient(server.url, path, headers={"Last-Event-ID": str(last)}) as sse:
        # More events race with the replay: the merge must still be exact.
        await emit_many(server.app, space, member.id, 10, first_id=40)
        got = await sse.take(15)
    assert [e.data["data"]["booking_id"] for e in got] == [*range(10, 15), *range(40, 50)]
    ids = [e.id for e in got]
    assert ids == sorted(set(ids))


async def test_unknown_last_event_id_is_ignored(server, place):
    loc, space, member = place
    path = f"/api/v1/streams/locations/{loc.id}"
    async with SseClient(server.url, path, headers={"Last-Event-ID": "not-a-number"}) as sse:
        await emit(server.app, "booking.held", booking_facts(space, member.id, 5))
        got = await sse.next()
    assert got.data["data"]["booking_id"] == 5
