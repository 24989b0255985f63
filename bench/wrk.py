"""wrk (Debian: `apt-get install -y wrk`) driving one HTTP phase over a file of distinct requests.

wrk is a C load generator: on a shared 2-core host it leaves the CPU to the node, where a
Python client would take half of it. A Lua script walks the file's request lines: a path, or
tab-separated `[POST ]path`, headers (`name: value`) and a JSON body (starting with `{`).
GETs: each wrk thread walks from its own random offset. Writes (`distinct=True`): the threads
take alternate lines, so no request is sent twice until the file wraps.
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
local distinct = os.getenv("WRK_DISTINCT") == "1"
local threads = 0
local i, step = 0, 1
function setup(thread)
  thread:set("start", math.random(#lines))
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  i = tonumber(start) or 0
  if distinct then
    i = tonumber(id)
    step = tonumber(os.getenv("WRK_THREADS"))
  end
end
function request()
  local line = lines[(i % #lines) + 1]
  i = i + step
  local method, target, headers, body = "GET", nil, {}, nil
  local first = true
  for field in line:gmatch("[^\t]+") do
    if first then
      local m, path = field:match("^(%u+) (.*)$")
      if m then method, target = m, path else target = field end
      first = false
    elseif field:sub(1, 1) == "{" then
      body = field
    else
      local name, value = field:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
  end
  return wrk.format(method, target, headers, body)
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
    distinct: bool = False,
) -> WrkResult:
    """One wrk phase over `requests` (see the module's docstring for a line's form)."""
    with tempfile.TemporaryDirectory() as tmp:
        lines, script = Path(tmp) / "requests.txt", Path(tmp) / "walk.lua"
        lines.write_text("\n".join(requests) + "\n")
        script.write_text(SCRIPT)
        out = subprocess.run(
            [shutil.which("wrk") or "wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
             "-s", str(script), base_url],
            env={**os.environ, "WRK_REQUESTS": str(lines), "WRK_THREADS": str(threads),
                 "WRK_DISTINCT": "1" if distinct else "0"},
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
