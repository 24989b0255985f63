"""Server processes for end-to-end tests: `python -m cowork serve` on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cowork.devstack import free_port, wait_http_ok

JWT_SECRET = "e2e-secret-" + "y" * 32


@dataclass
class Node:
    node_id: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def node_env(database_url: str, nats_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COWORK_", "STRIPE_"))}
    env.update(
        COWORK_ENV="test",
        DATABASE_URL=database_url,
        NATS_URL=nats_url,
        JWT_SECRET=JWT_SECRET,
        COWORK_LOG_FORMAT="text",
        COWORK_DB_POOL_SIZE="10",
    )
    env.update(extra)
    return env


def start_node(
    env: dict[str, str],
    node_id: str,
    log_dir: Path,
    port: int | None = None,
    ready_timeout: float = 40,
) -> Node:
    port = port or free_port()
    env = {**env, "PORT": str(port), "COWORK_NODE_ID": node_id}
    log_path = log_dir / f"{node_id}-{port}.log"
    with log_path.open("ab") as logfile:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cowork", "serve"],
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
    node = Node(node_id, port, proc, log_path, env)
    if wait_http_ok(f"{node.url}/readyz", timeout=ready_timeout, alive=lambda: proc.poll() is None):
        return node
    node.stop(signal.SIGKILL)
    raise RuntimeError(f"node {node_id} did not become ready:\n{node.log()}")


async def start_together(start: Callable[..., Node], *node_ids: str, **extra: str) -> list[Node]:
    """Start nodes (with the `cluster` fixture's `start`) in parallel, not one after another:
    each interpreter takes seconds to come up, mostly importing."""
    return list(await asyncio.gather(*(asyncio.to_thread(start, n, **extra) for n in node_ids)))
