from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.nodes import Node, node_env, start_node


@pytest.fixture
def cluster(database_url, infra, tmp_path) -> Iterator:
    """Start server processes on demand; every one is stopped at the end of the test."""
    started: list[Node] = []

    def start(node_id: str, port: int | None = None, **extra: str) -> Node:
        node = start_node(
            node_env(database_url, infra.nats_url, **extra), node_id, tmp_path, port=port
        )
        started.append(node)
        return node

    yield start
    with ThreadPoolExecutor(max(1, len(started))) as pool:  # drain together, not in turn
        list(pool.map(lambda node: node.stop(), started))
