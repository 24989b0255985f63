"""Presence across two nodes: watchers and checkouts counted cluster-wide, pushed as events."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest

import cowork.services as app_module
from cowork.devstack import free_port
from tests.conftest import RunningServer, start_server, stop_server
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_realtime_support import SseClient, eventually


@pytest.fixture
async def second(server) -> AsyncIterator[RunningServer]:
    """Another node on the same database and NATS, in this process.

    Tortoise is process-global, so the second server reuses the first one's ORM instead of
    re-initialising (which would close the pools the first server uses) or closing it.
    """
    settings = replace(server.settings, port=free_port(), node_id="node-2")
    with _shared_orm():
        running, srv = await start_server(settings)
    try:
        yield running
    finally:
        with _shared_orm():
            await stop_server(srv)


@contextlib.contextmanager
def _shared_orm() -> Iterator[None]:
    saved = app_module.init_orm, app_module.close_orm
    app_module.init_orm, app_module.close_orm = _no_init, _no_close
    try:
        yield
    finally:
        app_module.init_orm, app_module.close_orm = saved


async def _no_init(settings: object) -> None:
    return None


async def _no_close() -> None:
    return None


async def counts(url: str, space_id: int) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.get(f"/api/v1/spaces/{space_id}/presence")
        assert r.status_code == 200, r.text
        return r.json()


def reaches(url: str, space_id: int, **want: int):
    async def check() -> bool:
        got = await counts(url, space_id)
        return all(got[k] == v for k, v in want.items())

    return check


async def test_watchers_counted_across_nodes(server, second):
    loc = await make_location()
    space = await make_space(loc)
    path = f"/api/v1/streams/spaces/{space.id}"
    assert await counts(server.url, space.id) == {
        "space_id": space.id,
        "watching": 0,
        "checking_out": 0,
    }
    async with SseClient(second.url, path) as on_second:
        first = SseClient(server.url, path)
        await first.__aenter__()
        try:
            for node in (server, second):
                await eventually(reaches(node.url, space.id, watching=2), what="2 watching")
            # Watchers are told: a presence event with the cluster-wide count.
            await _presence_event(on_second, watching=2)
        finally:
            await first.close()
        for node in (server, second):
            await eventually(reaches(node.url, space.id, watching=1), what="1 watching")
        await _presence_event(on_second, watching=1)


async def _presence_event(sse: SseClient, **want: int) -> None:
    while True:
        event = await sse.next(keep_presence=True)
        if event.event != "presence":
            continue
        assert event.id is None  # node-made, not in the stream: never a resume point
        assert event.data["type"] == "presence"
        if all(event.data["data"][k] == v for k, v in want.items()):
            return


async def test_checkouts_counted_across_nodes(server, second):
    loc = await make_location()
    space = await make_space(loc)
    a, b = await make_user(), await make_user()
    url = f"/api/v1/spaces/{space.id}/presence/checkout"
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as one,
        httpx.AsyncClient(base_url=second.url, timeout=10) as two,
    ):
        assert (await one.post(url)).status_code == 401
        r = await one.post(url, headers=auth(server.settings, a))
        assert r.status_code == 200
        assert r.json()["checking_out"] == 1
        assert r.json()["ttl_seconds"] == server.settings.checkout_ttl_seconds
        await two.post(url, headers=auth(server.settings, b))
        await two.post(url, headers=auth(server.settings, b))  # a renewal counts once
        for node in (server, second):
            await eventually(reaches(node.url, space.id, checking_out=2), what="2 checking out")
        # Leaving on the other node still clears the mark everywhere.
        r = await two.delete(url, headers=auth(server.settings, a))
        assert r.status_code == 200
        for node in (server, second):
            await eventually(reaches(node.url, space.id, checking_out=1), what="1 checking out")
        r = await one.get("/api/v1/spaces/999999/presence")
        assert r.status_code == 404
