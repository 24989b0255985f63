"""Process faults: a crash (SIGKILL), a stop (SIGTERM, which drains), a pause (SIGSTOP) and
its end (SIGCONT), on any `subprocess.Popen` we started (a node, nats-server, localstripe).

A paused process keeps its sockets: peers see silence, not a close, as with a long GC pause
or a VM stall. `paused()` always resumes, even when the test fails inside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

from tests.faults.log import FAULTS


def kill(proc: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGKILL and reap: no handler runs, nothing is flushed or drained."""
    FAULTS.record("process:kill")
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout)


def terminate(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM and reap: the process drains and stops on its own; its exit code."""
    FAULTS.record("process:terminate")
    if proc.poll() is None:
        proc.terminate()
    return proc.wait(timeout)


def pause(proc: subprocess.Popen[bytes]) -> None:
    FAULTS.record("process:pause")
    os.kill(proc.pid, signal.SIGSTOP)


def resume(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def paused(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    pause(proc)
    try:
        yield
    finally:
        resume(proc)
