"""`cowork cluster --nodes N`: the whole local cluster from one supervising process.

A node that dies stays dead (HAProxy routes around it: that is the point of a cluster), and
Ctrl-C or SIGTERM stops HAProxy, drains the nodes, then stops the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Mapping, Sequence

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
from cowork.config import ConfigError, Settings
from cowork.devstack import ChildProcess, embedded_stack, spawn, wait_http_ok

log = logging.getLogger("cowork.cluster")


def run_cluster(environ: Mapping[str, str], nodes: int) -> int:
    """Run the whole cluster until Ctrl-C / SIGTERM; every process it starts is stopped."""
    if nodes < 1:
        print("cowork cluster: --nodes must be at least 1", file=sys.stderr)
        return 2
    # Until then SIGTERM must unwind the `finally` blocks like Ctrl-C does.
    signal.signal(signal.SIGTERM, raise_interrupt)
    layout = cluster_layout(environ)
    settings = cluster_settings(environ, layout)
    logs.configure(settings.log_json, third_party=layout.data_dir / "logs" / "third-party.log")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        with embedded_stack(layout.data_dir, settings) as stack:
            return _run_on(stack.services.apply(settings).checked(), environ, layout, nodes)
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, OSError, ConfigError) as exc:
        print(f"cowork cluster: {exc}", file=sys.stderr)
        return 1


def _run_on(settings: Settings, environ: Mapping[str, str], layout: Layout, nodes: int) -> int:
    asyncio.run(prepare_local(settings, layout.proxy_url))
    children: list[ChildProcess] = []
    proxy: ChildProcess | None = None
    try:
        for index, server in enumerate(layout.servers(nodes), start=1):
            env = child_env(environ, node_settings(settings, layout, index))
            children.append(spawn(server.name, node_command(), layout.run_dir, "cowork serve", env))
        for child, server in zip(children, layout.servers(nodes), strict=True):
            url = f"http://127.0.0.1:{server.port}/readyz"
            if not wait_http_ok(url, timeout=60, alive=child.is_running):
                raise RuntimeError(f"{server.name} did not start; see {layout.run_dir}")
        layout.servers_file.write_text(servers_cfg(layout.servers(nodes)))
        argv = haproxy_argv(settings, layout.servers_file)
        env = haproxy_env(environ, layout.port, layout.stats_port)
        proxy = spawn("haproxy", argv, layout.run_dir, "haproxy", env)
        if not wait_http_ok(f"{layout.proxy_url}/readyz", timeout=30, alive=proxy.is_running):
            raise RuntimeError(f"haproxy did not start; see {layout.run_dir}/haproxy.log")
        _banner(settings, layout, nodes)
        return _supervise(proxy, children)
    finally:
        # HAProxy first (no new requests), then the nodes drain together; the caller's
        # `with embedded_stack` then stops NATS, localstripe and PostgreSQL.
        if proxy is not None:
            proxy.stop()
        _stop_all(children, STOP_NODES_SECONDS)


def _stop_all(children: Sequence[ChildProcess], timeout: float) -> None:
    """SIGTERM every child at once (they drain in parallel), SIGKILL what is left."""
    for child in children:
        if child.is_running():
            child.proc.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(Exception):
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        child.stop(timeout=1)  # SIGKILL if still running; removes the pid file


def _supervise(proxy: ChildProcess, nodes: Sequence[ChildProcess]) -> int:
    """Wait for Ctrl-C; report nodes that die (HAProxy routes around them)."""
    reported: set[str] = set()
    while proxy.is_running():
        for child in nodes:
            if child.name not in reported and not child.is_running():
                reported.add(child.name)
                log.warning(
                    "%s exited (rc %s); the other nodes serve its spaces",
                    child.name,
                    child.proc.returncode,
                )
        if len(reported) == len(nodes):
            log.error("every node is down; stopping the cluster")
            return 1
        time.sleep(0.5)
    log.error("haproxy exited (rc %s); stopping the cluster", proxy.proc.returncode)
    return 1


def _banner(settings: Settings, layout: Layout, nodes: int) -> None:
    url = layout.proxy_url
    node_lines = [
        f"    node-{i}: http://127.0.0.1:{layout.node_port(i)}  (log {layout.run_dir}/node-{i}.log)"
        for i in range(1, nodes + 1)
    ]
    lines = [
        "",
        f"  cowork cluster: {nodes} node(s) behind HAProxy at {url}",
        f"  {url}/healthz names the node that answered; stats: "
        f"http://127.0.0.1:{layout.stats_port}/stats",
        *node_lines,
        f"  Demo logins (password: {settings.demo_password}):"
        " admin@example.com · manager@example.com · member@example.com",
        "  Ctrl-C stops everything this command started.",
        "",
    ]
    print("\n".join(lines), flush=True)
