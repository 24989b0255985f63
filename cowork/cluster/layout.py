"""Where a local cluster lives: its files and ports, and each node's settings."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from cowork.bootstrap import local_settings
from cowork.cluster.haproxy import Server
from cowork.config import CLUSTER_DEFAULTS, Settings

STOP_NODES_SECONDS = 25.0  # drain grace + in-flight + Sanic's own connection wait


@dataclass(frozen=True)
class Layout:
    """Files under `<data dir>/cluster`; HAProxy on `port`, node i on `node_port_base + i`."""

    data_dir: Path
    port: int
    node_port_base: int

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(
            data_dir=settings.data_dir.resolve() / "cluster",
            port=settings.cluster_port,
            node_port_base=settings.cluster_node_port_base,
        )

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def stats_port(self) -> int:
        return self.node_port_base  # base itself is never a node's port

    @property
    def stack_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def servers_file(self) -> Path:
        return self.run_dir / "servers.cfg"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def node_port(self, index: int) -> int:
        return self.node_port_base + index

    def servers(self, nodes: int) -> list[Server]:
        return [Server(f"node-{i}", "127.0.0.1", self.node_port(i)) for i in range(1, nodes + 1)]


def cluster_layout(environ: Mapping[str, str]) -> Layout:
    return Layout.of(Settings.read({**CLUSTER_DEFAULTS, **environ}))


def cluster_settings(environ: Mapping[str, str], layout: Layout) -> Settings:
    """The cluster's settings: dev, one proxy in front, its own data dir and secrets;
    unchecked until the stack fills in the services."""
    return local_settings(environ, CLUSTER_DEFAULTS, layout.data_dir)


def node_settings(settings: Settings, layout: Layout, index: int) -> Settings:
    """node-<index> behind HAProxy, on its own port."""
    return replace(
        settings, node_id=f"node-{index}", host="127.0.0.1", port=layout.node_port(index)
    )


def node_command() -> list[str]:
    return [sys.executable, "-m", "cowork", "serve"]


def child_env(inherited: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """A child's environment: ours, with every cowork variable set from `settings`."""
    return {**inherited, **settings.to_env()}


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: stop the way Ctrl-C does, unwinding every `finally`."""
    raise KeyboardInterrupt
