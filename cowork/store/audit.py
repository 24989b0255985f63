"""The audit log: one row per staff write, inserted in the write's own transaction."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.store.db import db

_COLUMNS = "id, actor_id, action, entity, entity_id, location_id, before, after, at"


def _jsonb(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


async def record(
    conn: BaseDBAsyncClient,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | str,
    location_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one audit entry on `conn`, the transaction of the change it describes.

    Called inside `async with in_transaction() as conn:` so that a rolled-back change leaves
    no entry and a committed one always has its entry.
    """
    await conn.execute_query(
        "INSERT INTO audit_log (actor_id, action, entity, entity_id, location_id, before, after)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
        [actor_id, action, entity, str(entity_id), location_id, _jsonb(before), _jsonb(after)],
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    location_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    # None: every entry (admins); otherwise only entries of these locations.
    visible_locations: Collection[int] | None = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": row["at"].isoformat(),
        "actor_id": row["actor_id"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "location_id": row["location_id"],
        "before": _json(row["before"]),
        "after": _json(row["after"]),
    }


async def entries(spec: AuditFilter, *, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; `before_id` continues a page (keyset on id)."""
    params: list[Any] = []
    where: list[str] = []

    def add(condition: str, value: Any) -> None:
        params.append(value)
        where.append(condition.format(n=f"${len(params)}"))

    if spec.entity is not None:
        add("entity = {n}", spec.entity)
    if spec.entity_id is not None:
        add("entity_id = {n}", spec.entity_id)
    if spec.actor_id is not None:
        add("actor_id = {n}", spec.actor_id)
    if spec.location_id is not None:
        add("location_id = {n}", spec.location_id)
    if spec.since is not None:
        add("at >= {n}", spec.since)
    if spec.until is not None:
        add("at < {n}", spec.until)
    if spec.visible_locations is not None:
        add("location_id = ANY({n}::int[])", list(spec.visible_locations))
    if before_id is not None:
        add("id < {n}", before_id)
    params.append(limit)
    sql = (
        f"SELECT {_COLUMNS} FROM audit_log"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY id DESC LIMIT ${len(params)}"
    )
    return [_item(r) for r in await db().execute_query_dict(sql, params)]
