"""JSON log lines (one object per line), with the request id when there is one."""

from __future__ import annotations

import atexit
import json
import logging
import queue
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener


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


class _Handoff(QueueHandler):
    """Queue the record as it is: the listener's thread formats and writes it."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


_listener: QueueListener | None = None


def _access_lines_through_a_thread(handler: logging.Handler) -> None:
    """One access line per request: the event loop only queues it (formatting the JSON and
    the write to the stream cost more than the request itself on fast paths)."""
    global _listener
    if _listener is None:
        atexit.register(stop)
    stop()
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    access = logging.getLogger("cowork.access")
    access.handlers[:] = [_Handoff(lines)]
    access.propagate = False
    _listener = QueueListener(lines, handler)
    _listener.start()


def stop() -> None:
    """Write what is queued and end the access-log thread."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
