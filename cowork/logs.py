"""JSON log lines (one object per line), with the request id when there is one."""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "node_id", "method", "path", "status", "duration_ms"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(json_lines: bool, level: int = logging.INFO, third_party: Path | None = None) -> None:
    """Log to stderr; with `third_party` (a file), only our own lines reach the terminal and
    every other library's lines (and Python warnings) go to that file instead."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if third_party is not None:
        handler.addFilter(_ours)
        third_party.parent.mkdir(parents=True, exist_ok=True)
        elsewhere = logging.FileHandler(third_party, encoding="utf-8")
        elsewhere.setFormatter(handler.formatter)
        elsewhere.addFilter(lambda record: not _ours(record))
        root.addHandler(elsewhere)
        logging.captureWarnings(True)
    root.setLevel(level)
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "tortoise", "aerich"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
    _access_lines_through_a_thread(handler)


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "cowork" or record.name.startswith("cowork.")


# An access line is handed over as (created, request_id, method, path, status, duration_ms):
# the event loop appends a tuple (no lock, no wake-up of another thread); the writer thread
# drains them every FLUSH_SECONDS, makes the LogRecords and hands them to the handler.
_ACCESS = "cowork.access"
FLUSH_SECONDS = 0.1
MAX_QUEUED = 100_000  # lines a stalled log stream may owe before the oldest are dropped


def _record(line: tuple[float, str | None, str, str, int, float]) -> logging.LogRecord:
    created, request_id, method, path, status, duration_ms = line
    record = logging.LogRecord(_ACCESS, logging.INFO, __file__, 0, "%s %s %s",
                               (method, path, status), None)  # fmt: skip
    record.created, record.msecs = created, (created % 1) * 1000
    record.request_id, record.method, record.path = request_id, method, path
    record.status, record.duration_ms = status, duration_ms
    return record


class _AccessWriter(threading.Thread):
    def __init__(self, handler: logging.Handler) -> None:
        super().__init__(name="access-log", daemon=True)
        self.lines: deque[tuple[float, str | None, str, str, int, float]] = deque(maxlen=MAX_QUEUED)
        self._handler = handler
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(FLUSH_SECONDS):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        while self.lines:
            self._handler.handle(_record(self.lines.popleft()))

    def finish(self) -> None:
        self._done.set()
        self.join()


_writer: _AccessWriter | None = None


def access(request_id: str | None, method: str, path: str, status: int, seconds: float) -> None:
    """One access line. Configured (`configure`): written by the writer thread; otherwise
    logged at once through the `cowork.access` logger."""
    logger = logging.getLogger(_ACCESS)
    if not logger.isEnabledFor(logging.INFO):
        return
    writer = _writer
    if writer is not None:
        writer.lines.append(
            (time.time(), request_id, method, path, status, round(seconds * 1000, 2))
        )
    else:
        extra = {"request_id": request_id, "method": method, "path": path, "status": status,
                 "duration_ms": round(seconds * 1000, 2)}  # fmt: skip
        logger.info("%s %s %s", method, path, status, extra=extra)


def _access_lines_through_a_thread(handler: logging.Handler) -> None:
    """One access line per request, made and written by a thread: the event loop only appends
    a tuple (making a LogRecord, formatting the JSON and writing it cost more than a cached
    read itself, and waking a thread per line costs the GIL)."""
    global _writer
    if _writer is None:
        atexit.register(stop)
    stop()
    _writer = _AccessWriter(handler)
    _writer.start()


def stop() -> None:
    """Write what is queued and end the access-log thread."""
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.finish()
