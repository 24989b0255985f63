"""The fault harness itself: each proxy fault does to a real PostgreSQL client what it says."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.faults import FaultProxy, postgres_upstream, proxied_database_url
from tests.polling import poll


@pytest.fixture
async def pg_proxy(database_url):
    proxy = FaultProxy(postgres_upstream(database_url), name="pg").start()
    try:
        yield proxy
    finally:
        proxy.stop()


async def test_pass_through_reaches_the_database(database_url, pg_proxy):
    conn = await asyncpg.connect(proxied_database_url(database_url, pg_proxy))
    try:
        name = urlsplit(database_url).path.lstrip("/")
        assert await conn.fetchval("SELECT current_database()") == name
    finally:
        await conn.close()


async def test_blackhole_holds_a_query_until_healed_and_loses_nothing(database_url, pg_proxy):
    conn = await asyncpg.connect(proxied_database_url(database_url, pg_proxy))
    try:
        pg_proxy.blackhole()
        query = asyncio.create_task(conn.fetchval("SELECT 41 + 1"))
        done, _ = await asyncio.wait({query}, timeout=0.5)  # a bound on a fault, not a wait
        assert not done, "the query went through a blackhole"
        pg_proxy.heal()
        assert await query == 42
    finally:
        await conn.close()


async def test_cut_resets_open_connections_and_new_ones_work(database_url, pg_proxy):
    url = proxied_database_url(database_url, pg_proxy)
    conn = await asyncpg.connect(url)
    pg_proxy.cut()
    with pytest.raises((asyncpg.exceptions.ConnectionDoesNotExistError, ConnectionError, OSError)):
        await conn.fetchval("SELECT 1")
    fresh = await asyncpg.connect(url)
    try:
        assert await fresh.fetchval("SELECT 1") == 1
    finally:
        await fresh.close()


async def test_refuse_until_healed(database_url, pg_proxy):
    url = proxied_database_url(database_url, pg_proxy)
    pg_proxy.refuse()
    with pytest.raises((ConnectionError, OSError, asyncpg.exceptions.PostgresError)):
        await asyncpg.connect(url, timeout=5)
    pg_proxy.heal()
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


async def test_delay_and_tap_see_every_chunk(database_url, pg_proxy):
    seen: list[str] = []
    pg_proxy.tap(lambda direction, chunk: seen.append(direction) if chunk else None)
    conn = await asyncpg.connect(proxied_database_url(database_url, pg_proxy))
    try:
        pg_proxy.delay(0.2)
        assert await conn.fetchval("SELECT 2") == 2
    finally:
        await conn.close()
    await poll(lambda: seen, lambda s: {"upstream", "downstream"} <= set(s))
