"""Check-in from a kiosk: through the booking's space actor, answered without personal data."""

from __future__ import annotations

from typing import Any

from cowork.actors.commands import CheckIn, Requester
from cowork.actors.registry import ActorRegistry


async def check_in_by_kiosk(
    registry: ActorRegistry, location_id: int, space_id: int, booking_id: int
) -> dict[str, Any]:
    """Check a booking in from a kiosk of its location; the booking's public view."""
    requester = Requester(user_id=None, kiosk_location_id=location_id)
    row = await registry.ask(space_id, CheckIn(requester=requester, booking_id=booking_id))
    public: dict[str, Any] = row.facts().public()
    return public
