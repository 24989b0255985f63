"""Privileges die with the role on every node (issue 11, finding 1).

Fault it catches: a node judging a request by the role and activation written in the access
token (or in a stale cache) — a demoted, deactivated or logged-out user's old token keeps
working on the node that did not make the change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cowork.accounts.tokens import Principal, Role, TokenKind, issue
from tests.e2e.nodes import JWT_SECRET, start_together
from tests.factories import make_user
from tests.polling import poll

pytestmark = pytest.mark.e2e


def bearer(user_id: int, role: Role) -> dict[str, str]:
    token = issue(
        JWT_SECRET, Principal(user_id, role), TokenKind.ACCESS, 900, now=datetime.now(UTC)
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_demotion_on_one_node_ends_the_old_token_on_both(orm, cluster):
    victim = await make_user("admin")
    other = await make_user("admin")
    one, two = await start_together(cluster, "trust-a", "trust-b")
    old = bearer(victim.id, Role.ADMIN)
    async with httpx.AsyncClient(timeout=10) as http:
        for node in (one, two):  # both nodes have the admin's state cached now
            assert (
                await http.get(f"{node.url}/api/v1/admin/users", headers=old)
            ).status_code == 200
        r = await http.patch(
            f"{one.url}/api/v1/admin/users/{victim.id}",
            json={"role": "member", "is_active": False},
            headers=bearer(other.id, Role.ADMIN),
        )
        assert r.status_code == 200, r.text

        async def refused(node_url: str) -> int:
            return (await http.get(f"{node_url}/api/v1/admin/users", headers=old)).status_code

        for node in (one, two):
            # NATS tells the other node at once; its cache never trusts a state older than 1 s.
            await poll(lambda url=node.url: refused(url), lambda status: status in (401, 403))
        r = await http.patch(
            f"{two.url}/api/v1/admin/users/{victim.id}",
            json={"role": "admin", "is_active": True},
            headers=old,
        )
        assert r.status_code in (401, 403)
