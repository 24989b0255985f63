"""Schemathesis against a live node: the world it starts from, its configuration, one run."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from cowork.config import Settings
from tests.factories import make_location, make_space, make_user, token_for

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).parent / "st"
# Streams never end, so a request to one never returns: their 401/404 answers are tested in
# tests/integration/test_realtime_streams.py, their events everywhere else (docs/api.md).
STREAMS = r"^/api/v1/streams/(locations|spaces|me)"


@dataclass(frozen=True)
class Role:
    name: str
    bearer: str | None


async def seed(settings: Settings, kiosk_token: str) -> dict[str, str]:
    """A location with a paid and a free space, an amenity, and a user of each role."""
    location = await make_location()
    await make_space(location, hourly_price_cents=1000, amenities=("wifi",))
    await make_space(location, type="phone_booth")
    users = {
        "member": await make_user(),
        "manager": await make_user("manager", managed=(location,)),
        "admin": await make_user("admin"),
    }
    return {name: token_for(settings, user) for name, user in users.items()}


def config(role: Role, kiosk_token: str, *, seed: int, examples: int) -> str:
    auth = [f'[auth.openapi.kiosk]\napi_key = "Kiosk {kiosk_token}"']
    if role.bearer:
        auth.append(f'[auth.openapi.bearer]\nbearer = "{role.bearer}"')
    return "\n".join(
        [
            f"seed = {seed}",
            "workers = 1",
            'hooks = "tests.contract.st_hooks"',
            "request-timeout = 20",
            "[generation]",
            f"max-examples = {examples}",
            'database = "none"',
            "[checks]",
            "enabled = true",
            "[checks.positive_data_acceptance]",
            # 400/422 carry a domain rule's code (st_hooks checks it is never a shape code).
            'expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]',
            *auth,
        ]
    )


async def run(url: str, role: Role, kiosk_token: str, work: Path, **kw: int) -> tuple[int, str]:
    """One schemathesis run (every phase, every check); its exit code and output."""
    work.mkdir(parents=True, exist_ok=True)
    toml = work / "schemathesis.toml"
    toml.write_text(config(role, kiosk_token, **kw))
    child = await asyncio.create_subprocess_exec(
        str(ST),
        "--config-file",
        str(toml),
        "--no-color",
        "run",
        f"{url}/docs/openapi.json",
        "--checks",
        "all",
        "--exclude-path-regex",
        STREAMS,
        cwd=work,
        env={"PYTHONPATH": str(ROOT), "PATH": str(ST.parent), "HOME": str(work)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await child.communicate()
    return child.returncode or 0, out.decode(errors="replace")
