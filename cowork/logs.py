"""JSON log lines (one object per line), with the request id when there is one."""

from __future__ import annotations

import atexit
import json
import logging
import queue
import time
from datetime import UTC, datetime
from logging.handlers import QueueListener
from typing import Any


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


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "tortoise", "aerich"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
    _access_lines_through_a_thread(handler)


# An access line is handed over as (created, request_id, method, path, status, duration_ms):
# the logging thread makes the LogRecord; the event loop only queues a tuple.
_ACCESS = "cowork.access"


class _AccessListener(QueueListener):
    """Turns queued access tuples into records of the `cowork.access` logger, in its thread."""

    def prepare(self, record: Any) -> logging.LogRecord:
        if isinstance(record, logging.LogRecord):  # stop()'s sentinel path and plain records
            return record
        created, request_id, method, path, status, duration_ms = record
        line = logging.LogRecord(_ACCESS, logging.INFO, __file__, 0, "%s %s %s",
                                 (method, path, status), None)  # fmt: skip
        line.created, line.msecs = created, (created % 1) * 1000
        line.request_id, line.method, line.path = request_id, method, path
        line.status, line.duration_ms = status, duration_ms
        return line


_listener: QueueListener | None = None
_lines: queue.SimpleQueue[Any] | None = None


def access(request_id: str | None, method: str, path: str, status: int, seconds: float) -> None:
    """One access line. Configured (`configure`): queued for the logging thread; otherwise
    logged at once through the `cowork.access` logger."""
    logger = logging.getLogger(_ACCESS)
    if not logger.isEnabledFor(logging.INFO):
        return
    if _lines is not None:
        _lines.put((time.time(), request_id, method, path, status, round(seconds * 1000, 2)))
    else:
        extra = {"request_id": request_id, "method": method, "path": path, "status": status,
                 "duration_ms": round(seconds * 1000, 2)}  # fmt: skip
        logger.info("%s %s %s", method, path, status, extra=extra)


def _access_lines_through_a_thread(handler: logging.Handler) -> None:
    """One access line per request, formatted and written by a thread: the event loop only
    queues a tuple (making a LogRecord, formatting the JSON and writing it cost more than a
    cached read itself)."""
    global _listener, _lines
    if _listener is None:
        atexit.register(stop)
    stop()
    _lines = queue.SimpleQueue()
    _listener = _AccessListener(_lines, handler)
    _listener.start()


def stop() -> None:
    """Write what is queued and end the access-log thread."""
    global _listener, _lines
    if _listener is not None:
        _lines = None
        _listener.stop()
        _listener = None
