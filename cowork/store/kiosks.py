"""Kiosk devices: opaque tokens stored as sha256, their lookup, and the board a kiosk shows."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from cowork.store.db import db
from cowork.store.models import KioskDevice
from cowork.store.occupancy import current_sql, next_sql

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def kiosk_for_token(token: str) -> KioskDevice | None:
    """The active (not revoked) kiosk holding this token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await KioskDevice.get_or_none(token_hash=hash_token(token), revoked_at=None)


async def is_active(kiosk_id: int) -> bool:
    return await KioskDevice.filter(id=kiosk_id, revoked_at=None).exists()


async def booking_space(booking_id: int, location_id: int) -> int | None:
    """The space of a booking at this location (None: no such booking here)."""
    rows = await db().execute_query_dict(
        "SELECT space_id FROM bookings WHERE id = $1 AND location_id = $2",
        [booking_id, location_id],
    )
    return int(rows[0]["space_id"]) if rows else None


_COLUMNS = "b.id, b.status, b.starts_at, b.ends_at"
_BOARD = (
    "SELECT s.id, s.name, s.type, s.floor,"
    " c.id AS c_id, c.status AS c_status, c.starts_at AS c_start, c.ends_at AS c_end,"
    " n.id AS n_id, n.status AS n_status, n.starts_at AS n_start, n.ends_at AS n_end"
    f" FROM spaces s LEFT JOIN LATERAL ({current_sql('s', '$2', _COLUMNS)}) c ON true"
    f" LEFT JOIN LATERAL ({next_sql('s', '$2', _COLUMNS)}) n ON true"
    " WHERE s.location_id = $1 AND s.active ORDER BY s.floor, s.name, s.id"
)


async def board(location_id: int, now: datetime) -> list[dict[str, Any]]:
    """Each active space's current and next booking (no personal data: a shared screen)."""
    rows = await db().execute_query_dict(_BOARD, [location_id, now])
    return [_board_row(r) for r in rows]


def _board_row(r: dict[str, Any]) -> dict[str, Any]:
    def slot(prefix: str) -> dict[str, Any] | None:
        if r[f"{prefix}_id"] is None:
            return None
        return {
            "booking_id": r[f"{prefix}_id"],
            "status": r[f"{prefix}_status"],
            "start": r[f"{prefix}_start"].isoformat(),
            "end": r[f"{prefix}_end"].isoformat(),
        }

    return {
        "space_id": r["id"],
        "name": r["name"],
        "type": r["type"],
        "floor": r["floor"],
        "current": slot("c"),
        "next": slot("n"),
    }
