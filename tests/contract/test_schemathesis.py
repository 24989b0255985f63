"""The OpenAPI document is the contract: schemathesis finds no request the node answers off it.

Fault this catches: any response the document does not declare (status, problem code, body
shape, content type), a schema-valid request refused for its shape, a schema-violating one
accepted, a 5xx, a wrong answer to an undeclared method, a link that leads nowhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract import fuzz
from tests.payments_fixtures import *  # noqa: F403


@pytest.mark.parametrize("role", list(fuzz.ROLES))
async def test_schemathesis_finds_no_failure(pay_server, db, tmp_path: Path, role: str):
    tokens, kiosk = await fuzz.seed(pay_server, db)
    code, out = await fuzz.run(
        pay_server.url, fuzz.ROLES[role], tokens.get(role), kiosk, tmp_path, seed=1
    )
    assert code == 0, out[-20000:]
