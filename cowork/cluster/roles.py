"""The Procfile's roles (honcho): the cluster's pieces as separate processes.

`stack` starts the services, migrates and seeds, then publishes what it provides in
`run/stack.json`; each `node` waits for that file and then *becomes* the node (exec, so the
runner's SIGTERM reaches Sanic); `haproxy` writes the server list and execs HAProxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import NoReturn

from cowork import logs
from cowork.bootstrap import prepare_local
from cowork.cluster.haproxy import haproxy_argv, haproxy_env, servers_cfg
from cowork.cluster.layout import (
    STOP_NODES_SECONDS,
    Layout,
    child_env,
    cluster_layout,
    cluster_settings,
    node_command,
    node_settings,
    raise_interrupt,
)
from cowork.config import CLUSTER_DEFAULTS, Settings
from cowork.devstack import Services, embedded_stack, kill_stale, pid_alive

log = logging.getLogger("cowork.cluster")


def role_stack(environ: Mapping[str, str]) -> int:
    """Start the services, migrate, seed, publish them; on SIGTERM stop after the nodes."""
    signal.signal(signal.SIGTERM, raise_interrupt)
    layout = cluster_layout(environ)
    settings = cluster_settings(environ, layout)
    layout.stack_file.unlink(missing_ok=True)
    logs.configure(settings.log_json)
    try:
        with embedded_stack(layout.data_dir, settings) as stack:
            asyncio.run(prepare_local(stack.services.apply(settings).checked(), layout.proxy_url))
            tmp = layout.stack_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "services": asdict(stack.services)}))
            tmp.replace(layout.stack_file)
            log.info("stack ready; nodes may start")
            try:
                signal.pause()
            finally:
                layout.stack_file.unlink(missing_ok=True)
                _wait_for_nodes(layout, STOP_NODES_SECONDS)
    except KeyboardInterrupt:
        pass
    return 0


def _wait_for_nodes(layout: Layout, timeout: float) -> None:
    """honcho stops every process at once: keep the database up while nodes drain."""
    deadline = time.monotonic() + timeout
    for pidfile in layout.run_dir.glob("node-*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().split()[0])
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.1)


def _published(layout: Layout, timeout: float) -> Services:
    """What the stack published, once it is up (a file left by a dead stack is ignored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            published = json.loads(layout.stack_file.read_text())
            if pid_alive(int(published["pid"])):
                return Services(**published["services"])
        time.sleep(0.2)
    raise TimeoutError(f"the stack did not start within {timeout:.0f}s")


def role_node(environ: Mapping[str, str], index: int) -> NoReturn:
    layout = cluster_layout(environ)
    services = _published(layout, timeout=180)  # the stack has written the secrets by then
    settings = services.apply(cluster_settings(environ, layout)).checked()
    pidfile = layout.run_dir / f"node-{index}.pid"
    kill_stale(pidfile, "cowork serve")
    pidfile.write_text(str(os.getpid()))  # exec keeps the pid
    env = child_env(environ, node_settings(settings, layout, index))
    argv = node_command()
    os.execve(argv[0], argv, env)  # noqa: S606 (argv, no shell)


def role_haproxy(environ: Mapping[str, str], nodes: int) -> NoReturn:
    settings = Settings.read({**CLUSTER_DEFAULTS, **environ})  # no secrets: HAProxy has none
    layout = Layout.of(settings)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.servers_file.write_text(servers_cfg(layout.servers(nodes)))
    argv = haproxy_argv(settings, layout.servers_file)
    os.execve(argv[0], argv, haproxy_env(environ, layout.port, layout.stats_port))  # noqa: S606
