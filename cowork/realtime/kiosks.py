"""Kiosk devices: opaque tokens (stored as sha256), their lookup, and check-in by kiosk."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sanic import Sanic

from cowork.store.db import db
from cowork.store.models import KioskDevice

TOKEN_BYTES = 32


class CheckInUnavailableError(Exception):
    """This node has no booking engine to ask (the actor registry is not running)."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def kiosk_for_token(token: str) -> KioskDevice | None:
    """The active (not revoked) kiosk holding this token."""
    if not token or len(token) > 256:
        return None
    return await KioskDevice.get_or_none(token_hash=hash_token(token), revoked_at=None)


async def is_active(kiosk_id: int) -> bool:
    return await KioskDevice.filter(id=kiosk_id, revoked_at=None).exists()


async def touch(kiosk_id: int) -> None:
    await db().execute_query(
        "UPDATE kiosk_devices SET last_seen_at = now() WHERE id = $1", [kiosk_id]
    )


async def booking_space(booking_id: int, location_id: int) -> int | None:
    """The space of a booking at this location (None: no such booking here)."""
    _, rows = await db().execute_query(
        "SELECT space_id FROM bookings WHERE id = $1 AND location_id = $2",
        [booking_id, location_id],
    )
    return int(rows[0]["space_id"]) if rows else None


async def check_in_by_kiosk(
    app: Sanic[Any, Any], location_id: int, space_id: int, booking_id: int
) -> dict[str, Any]:
    """Check a booking in from a kiosk of its location, through the space's actor.

    Returns the booking's public view (no personal data: a kiosk is a shared screen).
    """
    registry = getattr(app.ctx, "registry", None)
    if registry is None:
        raise CheckInUnavailableError
    from cowork.actors.commands import CheckIn, Requester

    requester = Requester(user_id=None, kiosk_location_id=location_id)
    row = await registry.ask(space_id, CheckIn(requester=requester, booking_id=booking_id))
    public: dict[str, Any] = row.facts().public()
    return public
