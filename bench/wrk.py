"""wrk (Debian: `apt-get install -y wrk`) driving one HTTP phase over a file of distinct requests.

wrk is a C load generator: on a shared 2-core host it leaves the CPU to the node, where a
Python client would take half of it. A Lua script walks the file's request lines (one path, or
`path<TAB>header: value`), each wrk thread from its own offset.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL = "wrk is not installed (Debian: apt-get install -y wrk); skipping the HTTP phases"

SCRIPT = r"""
local lines = {}
for line in io.lines(os.getenv("WRK_REQUESTS")) do lines[#lines + 1] = line end
local i = 0
function setup(thread)
  thread:set("start", math.random(#lines))
end
function init(args)
  i = tonumber(start) or 0
end
function request()
  i = i + 1
  local line = lines[(i % #lines) + 1]
  local path, header = line:match("^([^\t]*)\t?(.*)$")
  local headers = {}
  if header ~= "" then
    local name, value = header:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  return wrk.format("GET", path, headers)
end
"""


@dataclass(frozen=True)
class WrkResult:
    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors

    def line(self, baseline: float | None = None) -> str:
        ratio = f"  = {self.rate / baseline:.2f}x healthz" if baseline else ""
        return (
            f"{self.name}: {self.rate:,.0f}/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms,"
            f" {self.requests:,} requests, {self.errors} errors{ratio}"
        )


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    name: str,
    base_url: str,
    requests: list[str],
    *,
    seconds: float = 10,
    connections: int = 32,
    threads: int = 2,
) -> WrkResult:
    """One wrk phase over `requests` (paths, optionally `\\t` + one header)."""
    with tempfile.TemporaryDirectory() as tmp:
        lines, script = Path(tmp) / "requests.txt", Path(tmp) / "walk.lua"
        lines.write_text("\n".join(requests) + "\n")
        script.write_text(SCRIPT)
        out = subprocess.run(
            [shutil.which("wrk") or "wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
             "-s", str(script), base_url],
            env={**os.environ, "WRK_REQUESTS": str(lines)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    return parse(name, out)


def parse(name: str, out: str) -> WrkResult:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sock.groups()) if sock else 0
    )
    return WrkResult(name, rate, _pct(out, "50"), _pct(out, "99"), total, errors)


def _pct(out: str, q: str) -> float:
    match = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
