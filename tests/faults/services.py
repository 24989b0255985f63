"""Services a fault test owns: the way to PostgreSQL through a proxy, and a NATS it may kill.

Embedded PostgreSQL listens only on a Unix socket (`?host=<dir>` in its URL). Rather than start
a second server on TCP, the proxy listens on TCP and connects upstream to that socket: nodes
get `postgresql://user@127.0.0.1:<proxy port>/<db>` and PostgreSQL still sees a local socket
client (same authentication). A TCP DATABASE_URL (CI's own server) is proxied the same way.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cowork.devstack import ChildProcess, free_port, start_nats
from tests.faults.process import kill
from tests.faults.proxy import FaultProxy, Upstream


def postgres_upstream(database_url: str) -> Upstream:
    """Where the server of `database_url` listens (its Unix socket, or host and port)."""
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    port = parts.port or 5432
    if socket_dir.startswith("/"):
        return Upstream(unix_path=f"{socket_dir}/.s.PGSQL.{port}")
    return Upstream(parts.hostname or "127.0.0.1", port)


def proxied_database_url(database_url: str, proxy: FaultProxy) -> str:
    """The same database, reached through `proxy` over TCP."""
    parts = urlsplit(database_url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return f"{parts.scheme}://{userinfo}{proxy.address}{parts.path}"


@dataclass
class NatsServer:
    """A nats-server of one test, killed and restarted on the same port and store."""

    run_dir: Path
    store_dir: Path
    port: int
    child: ChildProcess

    @classmethod
    def start(cls, root: Path) -> NatsServer:
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        port = free_port()
        child, _ = start_nats(root / "run", root / "js", port=port)
        return cls(root / "run", root / "js", port, child)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.child.proc

    def kill(self) -> None:
        kill(self.child.proc)

    def restart(self) -> None:
        self.child, _ = start_nats(self.run_dir, self.store_dir, port=self.port)

    def stop(self) -> None:
        self.child.stop()
