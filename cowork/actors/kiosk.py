"""Check-in from a kiosk: through the booking's space actor, answered without personal data."""

from __future__ import annotations

from typing import Any

from cowork.actors.commands import CheckIn, Requester
from cowork.actors.registry import ActorRegistry


async def check_in_by_kiosk(
    registry: ActorRegistry, location_id: int, space_id: int, booking_id: int, pin: str | None
) -> dict[str, Any]:
    """Check a booking in from a kiosk of its location with the PIN its member typed there;
    the booking's public view."""
    requester = Requester(user_id=None, kiosk_location_id=location_id)
    command = CheckIn(requester=requester, booking_id=booking_id, pin=pin)
    row = await registry.ask(space_id, command)
    public: dict[str, Any] = row.facts().public()
    return public
