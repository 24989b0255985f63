"""The OpenAPI document is the contract: schemathesis finds no request the node answers off it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.contract import fuzz
from tests.payments_fixtures import *  # noqa: F403


@pytest.mark.parametrize("role", ["admin"])
async def test_schemathesis_finds_no_failure(pay_server, tmp_path: Path, role: str):
    async with httpx.AsyncClient(base_url=pay_server.url, timeout=30) as http:
        tokens = await fuzz.seed(pay_server.settings, "")
        loc = (await http.get("/api/v1/locations")).json()["items"][0]["id"]
        r = await http.post(
            "/api/v1/admin/kiosks",
            json={"location_id": loc, "name": "Door"},
            headers={"Authorization": f"Bearer {tokens['admin']}"},
        )
        kiosk = r.json()["token"]
    code, out = await fuzz.run(
        pay_server.url, fuzz.Role(role, tokens.get(role)), kiosk, tmp_path, seed=1, examples=10
    )
    Path(f"/tmp/contract-st-{role}.txt").write_text(out)
    assert code == 0, out[-20000:]
