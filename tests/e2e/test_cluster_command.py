"""`cowork cluster`: migrates, seeds, runs nodes behind HAProxy, and SIGTERM stops it all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cowork.devstack import free_port, wait_http_ok
from tests.e2e.haproxy import _admin, haproxy_missing

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_cluster_command_serves_and_stops_everything(infra, tmp_path):
    if haproxy_missing():
        pytest.skip("haproxy is not installed")
    name = f"cmd_{os.getpid()}"
    asyncio.run(_admin(infra.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(_admin(infra.admin_url, f"CREATE DATABASE {name}"))  # empty: it migrates, seeds
    port, base = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COWORK_", "STRIPE_"))}
    env.update(
        DATABASE_URL=infra.url_for(name),
        NATS_URL=infra.nats_url,
        STRIPE_SECRET_KEY="sk_test_unused",  # no localstripe for this test
        COWORK_DATA_DIR=str(tmp_path),
        COWORK_CLUSTER_PORT=str(port),
        COWORK_CLUSTER_NODE_PORT_BASE=str(base),
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
