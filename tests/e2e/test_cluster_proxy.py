"""What HAProxy adds: node names, request ids, the client address, login throttling."""

from __future__ import annotations

import pytest

from tests.e2e.haproxy import ha_cluster, ha_stack, send, session  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


async def test_haproxy_routes_names_nodes_and_throttles_logins(ha_cluster):  # noqa: F811
    url = ha_cluster.proxy.url
    async with session() as http:
        # Round-robin outside /spaces/: every node answers in turn, and says who it is.
        answered = [(await send(http, "GET", f"{url}/healthz")).json()["node_id"] for _ in range(6)]
        assert set(answered) == {"node-1", "node-2", "node-3"}

        # A request id is made up when the client sends none, and kept when it does.
        made = await send(http, "GET", f"{url}/api/v1/config")
        assert made.status == 200 and made.headers["x-request-id"]
        kept = await send(http, "GET", f"{url}/api/v1/config", headers={"X-Request-ID": "abc-1"})
        assert kept.headers["x-request-id"] == "abc-1"

        # The login stick table (5 a minute per address in this cluster) answers 429 itself.
        # Each attempt names another account, so the nodes' own per-account throttle stays out.
        replies = [
            await send(
                http,
                "POST",
                f"{url}/api/v1/auth/login",
                json={"email": f"nobody{i}@example.com", "password": "wrong-password-1"},
            )
            for i in range(8)
        ]
    assert [r.status for r in replies[:5]] == [401] * 5
    limited = replies[5:]
    assert [r.status for r in limited] == [429] * 3
    assert all(r.code == "proxy_rate_limited" and r.headers["retry-after"] for r in limited)
