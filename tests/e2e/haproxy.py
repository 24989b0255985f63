"""HAProxy for end-to-end tests: the repository's haproxy.cfg on free ports, with a generated
server list, plus the three-node cluster fixture the test_cluster_* modules share."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from cowork.cluster import Server, haproxy_argv, haproxy_env, servers_cfg
from cowork.devstack import free_port, wait_for_port
from tests.e2e.nodes import Node

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            states = await asyncio.to_thread(self.states)
            if all(states.get(name) == state for name, state in expected.items()):
                return
            assert loop.time() < deadline, f"HAProxy states {states}, expected {expected}"
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def haproxy_missing() -> bool:
    return not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists())


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
            haproxy_argv(servers_file), env=env, stdout=logfile, stderr=subprocess.STDOUT
        )
    proxy = Proxy(port, stats_port, proc, log_path)
    try:
        wait_for_port(stats_port)
        deadline = time.monotonic() + timeout
        while set(proxy.states().values()) != {"UP"} or len(proxy.states()) != len(servers):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not see its nodes up:\n{proxy.log()}")
            time.sleep(0.1)
    except BaseException:
        proxy.stop()
        raise
    return proxy


@dataclass
class Cluster:
    """Three nodes behind HAProxy; `restart` brings a node back on its own port."""

    nodes: list[Node]
    proxy: Proxy
    start_node: Callable[..., Node]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def restart(self, node: Node) -> Node:
        fresh = self.start_node(node.node_id, port=node.port, **NODE_ENV)
        self.nodes[self.nodes.index(node)] = fresh
        return fresh


@pytest.fixture
def ha_cluster(cluster, tmp_path) -> Iterator[Cluster]:
    """Three `cowork serve` processes behind the repository's haproxy.cfg, all on free ports."""
    if haproxy_missing():
        pytest.skip("haproxy is not installed (apt-get install haproxy; .ci/run does)")
    ids = ["node-1", "node-2", "node-3"]
    with ThreadPoolExecutor(len(ids)) as pool:  # three interpreters start in parallel
        nodes = list(pool.map(lambda node_id: cluster(node_id, **NODE_ENV), ids))
    proxy = start_haproxy(
        [Server(n.node_id, "127.0.0.1", n.port) for n in nodes], tmp_path, login_rate=5
    )
    running = Cluster(nodes, proxy, cluster)
    try:
        yield running
    finally:
        proxy.stop()
        with ThreadPoolExecutor(len(running.nodes)) as pool:  # drain together, not in turn
            list(pool.map(lambda node: node.stop(), running.nodes))


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
