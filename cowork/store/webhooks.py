"""Webhook endpoints: rows, who may see them, and the owner's notice when one is disabled."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.public_events import public_view
from cowork.store.db import db
from cowork.store.events import user_subject


@dataclass(frozen=True, slots=True)
class EndpointRow:
    id: int
    owner_id: int | None
    url: str
    description: str
    events: list[str]
    location_ids: list[int]
    secret: str
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    last_success_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    def visible_to(self, managed: Collection[int] | None) -> bool:
        """Staff see an endpoint if they manage every location it covers (admins: None)."""
        return managed is None or set(self.location_ids) <= set(managed)


_COLUMNS = ", ".join(f.name for f in fields(EndpointRow))
EDITABLE = ("url", "description", "events", "location_ids", "enabled")


def _row(r: Mapping[str, Any]) -> EndpointRow:
    values = {f.name: r[f.name] for f in fields(EndpointRow)}
    return EndpointRow(
        **{**values, "events": list(r["events"]), "location_ids": list(r["location_ids"])}
    )


async def insert(conn: BaseDBAsyncClient, owner_id: int, values: Mapping[str, Any]) -> EndpointRow:
    rows = await conn.execute_query_dict(
        "INSERT INTO webhook_endpoints (owner_id, url, description, events, location_ids, secret)"
        f" VALUES ($1, $2, $3, $4::varchar[], $5::int[], $6) RETURNING {_COLUMNS}",
        [
            owner_id,
            values["url"],
            values.get("description", ""),
            list(values["events"]),
            list(values["location_ids"]),
            values["secret"],
        ],
    )
    return _row(rows[0])


async def get(endpoint_id: int, conn: BaseDBAsyncClient | None = None) -> EndpointRow | None:
    rows = await (conn or db()).execute_query_dict(
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = $1", [endpoint_id]
    )
    return _row(rows[0]) if rows else None


async def page(
    managed: Collection[int] | None, *, after_id: int | None, limit: int
) -> list[EndpointRow]:
    """Endpoints visible to the caller, oldest first (keyset on id)."""
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id > $1"
        " AND ($2::int[] IS NULL OR location_ids <@ $2::int[]) ORDER BY id LIMIT $3",
        [after_id or 0, None if managed is None else list(managed), limit],
    )
    return [_row(r) for r in rows]


async def update(
    conn: BaseDBAsyncClient, endpoint_id: int, changes: Mapping[str, Any], now: datetime
) -> EndpointRow | None:
    """Apply the editable fields in `changes`; enabling clears the failure record."""
    sets = ["updated_at = $2"]
    params: list[Any] = [endpoint_id, now]
    casts = {"events": "::varchar[]", "location_ids": "::int[]"}
    for name in EDITABLE:
        if name in changes:
            params.append(list(changes[name]) if name in casts else changes[name])
            sets.append(f"{name} = ${len(params)}{casts.get(name, '')}")
    if changes.get("enabled") is True:
        sets += ["disabled_reason = NULL", "disabled_at = NULL", "failing_since = NULL"]
    rows = await conn.execute_query_dict(
        f"UPDATE webhook_endpoints SET {', '.join(sets)} WHERE id = $1 RETURNING {_COLUMNS}",
        params,
    )
    return _row(rows[0]) if rows else None


async def delete(conn: BaseDBAsyncClient, endpoint_id: int) -> bool:
    rows = await conn.execute_query_dict(
        "DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id", [endpoint_id]
    )
    return bool(rows)


async def disable(
    conn: BaseDBAsyncClient, endpoint_id: int, reason: str, now: datetime
) -> EndpointRow | None:
    """Disable (once) and fail what was still queued; None if it was already disabled."""
    rows = await conn.execute_query_dict(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = $3,"
        f" updated_at = $3 WHERE id = $1 AND enabled RETURNING {_COLUMNS}",
        [endpoint_id, reason, now],
    )
    if not rows:
        return None
    await conn.execute_query(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,"
        " last_error = 'endpoint disabled' WHERE endpoint_id = $1 AND status = 'pending'",
        [endpoint_id],
    )
    return _row(rows[0])


DISABLED_EVENT = "webhook.disabled"
DISABLED_TITLE = "Webhook endpoint disabled"


async def tell_owner(conn: BaseDBAsyncClient, endpoint: EndpointRow) -> None:
    """The owner's stream event and stored notification (personal: no public row)."""
    if endpoint.owner_id is None:
        return
    data = {
        "webhook_id": endpoint.id,
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
        "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
    }
    assert public_view(DISABLED_EVENT, data) is None
    body = json.dumps(data)
    await conn.execute_query(
        "INSERT INTO outbox (subject, type, location_id, space_id, user_id, payload)"
        " VALUES ($1, $2, NULL, NULL, $3, $4::jsonb)",
        [user_subject(endpoint.owner_id, DISABLED_EVENT), DISABLED_EVENT, endpoint.owner_id, body],
    )
    await conn.execute_query(
        "INSERT INTO notifications (user_id, booking_id, type, title, body, data)"
        " VALUES ($1, NULL, $2, $3, $4, $5::jsonb)",
        [
            endpoint.owner_id,
            DISABLED_EVENT,
            DISABLED_TITLE,
            f"{endpoint.url} failed for too long; enable it again once it answers.",
            body,
        ],
    )
