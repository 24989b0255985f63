"""Several data-modifying statements sent to PostgreSQL as one (one round trip, atomic)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_PLACEHOLDER = re.compile(r"\?")


class Script:
    """`WITH s0 AS (…), s1 AS (…) SELECT …`: every part runs, all or nothing.

    Parts are written with `?` placeholders, numbered here as `$n` in the order added.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *values: Any) -> str:
        numbers = iter(range(len(self.params) + 1, len(self.params) + 1 + len(values)))
        rendered = _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql)
        if next(numbers, None) is not None:
            raise ValueError("more values than placeholders")
        self.params.extend(values)
        self.parts.append(rendered)
        return f"s{len(self.parts) - 1}"

    def render(self, final: str = "SELECT 1") -> str:
        ctes = ", ".join(f"s{i} AS ({part})" for i, part in enumerate(self.parts))
        return f"WITH {ctes} {final}"

    async def run(self, conn: BaseDBAsyncClient, final: str = "SELECT 1") -> list[dict[str, Any]]:
        return await conn.execute_query_dict(self.render(final), self.params)


@asynccontextmanager
async def savepoint(conn: BaseDBAsyncClient, name: str = "sp") -> AsyncIterator[None]:
    """A part of the caller's transaction that may fail alone: on an exception the part is
    undone (ROLLBACK TO SAVEPOINT) and the exception propagates; the rest stays usable."""
    await conn.execute_query(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        await conn.execute_query(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    await conn.execute_query(f"RELEASE SAVEPOINT {name}")
