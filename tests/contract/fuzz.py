"""Schemathesis against a live node: the world it starts from, its configuration, one run."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.factories import make_location, make_space, make_user, token_for

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).parent / "st"
# Streams never end, so a request to one never returns: their 401/404 answers are tested in
# tests/integration/test_realtime_streams.py, their events everywhere else (docs/api.md).
STREAMS = r"^/api/v1/streams/(locations|spaces|me)"


@dataclass(frozen=True)
class Role:
    """Who the run acts as, which phases it runs and how many examples per operation.

    Every run has every check. The coverage phase (boundary values, every malformed shape,
    undeclared methods) probes the edge, which is the same for every caller: it runs once, as
    admin, who gets past every authorisation to the parsing behind it. Fuzzing and the stateful
    phase (links) run for everyone.
    """

    name: str
    phases: str = "fuzzing,stateful"
    examples: int = 10


ROLES = {
    "anonymous": Role("anonymous", examples=5),
    "member": Role("member"),
    "manager": Role("manager"),
    "admin": Role("admin", phases="examples,coverage,fuzzing,stateful"),
}


# Far from the ids the fuzzer tries first (1, 2, the int32 bounds): revoking kiosk 1 must not
# take the run's own kiosk with it.
KIOSK_ID = 1_234_567_891


async def seed(server: RunningServer, db: Any) -> tuple[dict[str, str], str]:
    """A location with a paid and a free space, an amenity, a user of each role and a kiosk;
    the roles' access tokens and the kiosk's token."""
    location = await make_location()
    await make_space(location, hourly_price_cents=1000, amenities=("wifi",))
    await make_space(location, type="phone_booth")
    users = {
        "member": await make_user(),
        "manager": await make_user("manager", managed=(location,)),
        "admin": await make_user("admin"),
    }
    tokens = {name: token_for(server.settings, user) for name, user in users.items()}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post(
            "/api/v1/admin/kiosks",
            json={"location_id": location.id, "name": "Door"},
            headers={"Authorization": f"Bearer {tokens['admin']}"},
        )
    r.raise_for_status()
    await db.execute("UPDATE kiosk_devices SET id = $1 WHERE id = $2", KIOSK_ID, r.json()["id"])
    return tokens, r.json()["token"]


def config(role: Role, bearer: str | None, kiosk_token: str, *, seed: int) -> str:
    auth = [f'[auth.openapi.kiosk]\napi_key = "Kiosk {kiosk_token}"']
    if bearer:
        auth.append(f'[auth.openapi.bearer]\nbearer = "{bearer}"')
    return "\n".join(
        [
            f"seed = {seed}",
            "workers = 1",
            'hooks = "tests.contract.st_hooks"',
            "request-timeout = 20",
            "[generation]",
            f"max-examples = {role.examples}",
            'database = "none"',
            "[checks]",
            "enabled = true",
            "[checks.positive_data_acceptance]",
            # 400/422 carry a domain rule's code (st_hooks checks it is never a shape code).
            'expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]',
            "[checks.negative_data_rejection]",
            # 431: a query string too long for the request head is refused before parsing.
            'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "415", "422",'
            ' "428", "429", "431", "5xx"]',
            *auth,
            # Passwords are hashed with argon2 (on purpose slow): fewer tries where they are.
            "[[operations]]",
            'include-tag = "accounts"',
            "generation.max-examples = 3",
        ]
    )


async def run(
    url: str, role: Role, bearer: str | None, kiosk_token: str, work: Path, *, seed: int
) -> tuple[int, str]:
    """One schemathesis run with every check; its exit code and output."""
    toml = _write(work / "schemathesis.toml", config(role, bearer, kiosk_token, seed=seed))
    child = await asyncio.create_subprocess_exec(
        str(ST),
        "--config-file",
        str(toml),
        "--no-color",
        "run",
        f"{url}/docs/openapi.json",
        "--checks",
        "all",
        "--phases",
        role.phases,
        "--exclude-path-regex",
        STREAMS,
        cwd=work,
        env={"PYTHONPATH": str(ROOT), "PATH": str(ST.parent), "HOME": str(work)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await child.communicate()
    text = out.decode(errors="replace")
    _write(work / "output.txt", text)
    return child.returncode or 0, text


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
