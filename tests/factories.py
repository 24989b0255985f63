"""Arrange data through the ORM (the in-process server has initialised it) and mint tokens."""

from __future__ import annotations

import itertools
from typing import Any

from cowork.accounts.tokens import Principal, Role, TokenKind, issue, utcnow
from cowork.config import Settings
from cowork.store.models import Amenity, Location, Space, User

_numbers = itertools.count(1)

ALWAYS_OPEN = {
    day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


async def make_user(
    role: str = "member",
    *,
    email: str | None = None,
    password_hash: str = "!unusable",
    managed: tuple[Location, ...] = (),
) -> User:
    n = next(_numbers)
    user = await User.create(
        email=email or f"user{n}@example.com",
        password_hash=password_hash,
        name=f"User {n}",
        role=role,
    )
    if managed:
        await user.managed_locations.add(*managed)
    return user


def token_for(settings: Settings, user: User) -> str:
    principal = Principal(user.id, Role(user.role))
    return issue(
        settings.jwt_secret,
        principal,
        TokenKind.ACCESS,
        settings.access_token_ttl_seconds,
        now=utcnow(),
    )


def auth(settings: Settings, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, user)}"}


async def make_location(**fields: Any) -> Location:
    n = next(_numbers)
    values: dict[str, Any] = {
        "name": f"Location {n}",
        "city": "Milan",
        "address": f"Via Roma {n}",
        "timezone": "Europe/Rome",
        "currency": "EUR",
        "opening_hours": ALWAYS_OPEN,
        "cancellation_policy": [
            {"hours_before": 24, "percent": 100},
            {"hours_before": 2, "percent": 50},
        ],
        "booking_rules": {},
        "floors": [{"level": 0, "name": "Ground", "width": 100, "height": 60}],
    }
    values.update(fields)
    return await Location.create(**values)


async def make_space(
    location: Location, *, amenities: tuple[str, ...] = (), **fields: Any
) -> Space:
    n = next(_numbers)
    values: dict[str, Any] = {
        "name": f"Space {n}",
        "type": "desk",
        "capacity": 1,
        "hourly_price_cents": 0,
        "daily_price_cents": None,
    }
    values.update(fields)
    space = await Space.create(location=location, **values)
    for code in amenities:
        amenity, _ = await Amenity.get_or_create(code=code, defaults={"name": code.title()})
        await space.amenities.add(amenity)
    return space
