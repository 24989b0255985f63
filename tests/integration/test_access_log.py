"""Access lines are still written, one JSON object per request, though a thread writes them."""

from __future__ import annotations

import io
import json
import logging

from cowork import logs
from tests.polling import poll


async def test_each_request_gets_a_json_access_line(server, client, monkeypatch):
    """Fault: moving access logs off the event loop loses them (or their request id)."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)  # StreamHandler() binds sys.stderr when made
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(json_lines=True)
        r = await client.get("/healthz", headers={"x-request-id": "trace-me-1"})
        assert r.status_code == 200 and r.headers["x-request-id"] == "trace-me-1"

        async def lines() -> list[dict[str, object]]:
            return [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]

        found = await poll(lines, lambda got: any(x.get("path") == "/healthz" for x in got))
        line = next(x for x in found if x.get("path") == "/healthz")
        assert line["request_id"] == "trace-me-1"
        assert line["status"] == 200 and line["method"] == "GET"
        assert line["logger"] == "cowork.access"
    finally:
        logs.stop()
        root.handlers[:], level = saved
        root.setLevel(level)
        access = logging.getLogger("cowork.access")
        access.handlers[:] = []
        access.propagate = True
