"""Shared fixtures: real PostgreSQL and NATS, a fresh database per test, real servers.

DATABASE_URL / NATS_URL, when set, point the suite at existing servers; otherwise an
embedded PostgreSQL and a nats-server are started once per run and stopped at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sanic import Sanic

from cowork.app import create_app
from cowork.clock import Clock
from cowork.config import Environment, NotifySettings, Settings
from cowork.devstack import EmbeddedPostgres, free_port, start_nats, tune_for_tests
from cowork.store.db import close_orm, init_orm, migrate
from tests.clones import Clones
from tests.notify_fakes import PushService, SmtpSink, delete_consumer

TEMPLATE = "cowork_template"
# httpx builds an SSL context for every client it makes (loading the system's CA bundle,
# ~35 ms); the tests' clients speak plain HTTP to local servers, so they share this one.
TLS = httpx.create_ssl_context()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (a CI timeout, `timeout`) should unwind like Ctrl-C, so session fixtures stop
    # the embedded PostgreSQL and NATS instead of leaving them running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # One temp root per checkout: pytest resets the shared /tmp/pytest-of-<user> to mode 0700
    # at every start, which locks the embedded PostgreSQL (its own system user) of any other
    # session running on the machine out of its data directory.
    if config.option.basetemp is None:
        digest = hashlib.sha1(str(config.rootpath).encode()).hexdigest()[:10]
        config.option.basetemp = Path(tempfile.gettempdir()) / f"cowork-pytest-{digest}"


@dataclass(frozen=True)
class Infra:
    admin_url: str  # a superuser URL on the maintenance database
    nats_url: str
    run_dir: Path

    def url_for(self, database: str) -> str:
        return with_database(self.admin_url, database)


def with_database(url: str, database: str) -> str:
    """Same server, another database (works for TCP and Unix-socket URLs)."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}{sep}{query}"


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    root = tmp_path_factory.mktemp("infra")
    root.chmod(0o755)
    postgres: EmbeddedPostgres | None = None
    nats_child = None
    admin_url = os.environ.get("DATABASE_URL", "")
    nats_url = os.environ.get("NATS_URL", "")
    try:
        if not admin_url:
            postgres = EmbeddedPostgres(root / "pgdata")
            admin_url = postgres.start()
            tune_for_tests(admin_url)
        if not nats_url:
            nats_child, nats_url = start_nats(root / "run", root / "nats")
        infra = Infra(admin_url, nats_url, root / "run")
        asyncio.run(_create_template(infra))
        yield infra
    finally:
        if nats_child is not None:
            nats_child.stop()
        if postgres is not None:
            postgres.stop()


async def _create_template(infra: Infra) -> None:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await conn.close()
    await migrate(test_settings(infra.url_for(TEMPLATE), infra.nats_url))
    from tortoise import Tortoise

    await Tortoise.close_connections()


def test_settings(database_url: str, nats_url: str, **overrides: Any) -> Settings:
    base = Settings(
        env=Environment.TEST,
        database_url=database_url,
        nats_url=nats_url,
        jwt_secret="test-secret-" + "x" * 32,
        port=free_port(),
        db_pool_size=10,
        log_json=False,
    )
    return replace(base, **overrides)


@pytest.fixture(scope="session")
def clones(infra: Infra) -> Iterator[Clones]:
    made = Clones(infra.admin_url, TEMPLATE)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
async def database_url(infra: Infra, clones: Clones) -> AsyncIterator[str]:
    """A fresh database cloned from the migrated template (made while earlier tests ran)."""
    name = await clones.take()
    yield infra.url_for(name)
    clones.give_back(name)


@pytest.fixture
def settings(database_url: str, infra: Infra) -> Settings:
    return test_settings(database_url, infra.nats_url)


@contextlib.asynccontextmanager
async def notify_test_settings(
    database_url: str, nats_url: str, notify: NotifySettings, **overrides: Any
) -> AsyncIterator[Settings]:
    """Settings with these notification channels; their durable consumer is deleted after."""
    s = test_settings(database_url, nats_url, notify=notify, **overrides)
    yield s
    await delete_consumer(nats_url, notify.consumer)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """An SMTP server in the test, keeping every message it is given."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    """A Web Push service in the test: it checks VAPID and decrypts like a browser."""
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@dataclass
class RunningServer:
    app: Sanic
    url: str
    settings: Settings


async def start_server(settings: Settings, clock: Clock | None = None) -> tuple[RunningServer, Any]:
    """Run a real Sanic server in this event loop, on the settings' port."""
    app = create_app(settings, clock=clock)
    srv = await app.create_server(
        host="127.0.0.1", port=settings.port, return_asyncio_server=True, access_log=False
    )
    assert srv is not None
    await srv.startup()
    await srv.before_start()
    await srv.after_start()
    return RunningServer(app, f"http://127.0.0.1:{settings.port}", settings), srv


async def stop_server(srv: Any, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):
            await srv.before_stop()
            for conn in list(srv.connections):
                conn.close_if_idle() or conn.abort()
            srv.close()
            await srv.wait_closed()
            await srv.after_stop()
    except TimeoutError:
        for task in asyncio.all_tasks():  # show what would not stop
            print(f"--- task {task.get_name()}", file=sys.stderr)
            task.print_stack(limit=8, file=sys.stderr)
        raise


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    running, srv = await start_server(settings)
    try:
        yield running
    finally:
        await stop_server(srv)


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10, verify=TLS) as http:
        yield http


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test database, for arranging and asserting in SQL."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def orm(settings: Settings) -> AsyncIterator[Settings]:
    """The ORM bound to the per-test database, without a server (for actor-level tests)."""
    await init_orm(settings)
    try:
        yield settings
    finally:
        await close_orm()
