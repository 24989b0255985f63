"""Catalogue reads shared by the public and management APIs, and the dicts they answer with."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cowork.domain.errors import LocationNotFoundError, NotFoundError, SpaceNotFoundError
from cowork.domain.policy import DEFAULT_POLICY
from cowork.domain.pricing import is_free
from cowork.domain.schedule import BookingLimits
from cowork.domain.timezones import load_zone
from cowork.store.db import db
from cowork.store.models import Amenity, Closure, Location, Space
from cowork.store.occupancy import guard_sql, occupies_sql

MAX_ID = 2**31 - 1  # ids are int4; anything larger cannot exist and must not reach asyncpg
# All SQL in this module is assembled from constant fragments; every value is a $n parameter.


class SpaceType(StrEnum):
    DESK = "desk"
    MEETING_ROOM = "meeting_room"
    PRIVATE_OFFICE = "private_office"
    PHONE_BOOTH = "phone_booth"
    EVENT_SPACE = "event_space"


@dataclass(frozen=True, slots=True)
class SpaceFilter:
    """What a searcher asks of a space; `window` = (from, to) means free for all of [from, to)."""

    type: SpaceType | None = None
    amenities: tuple[str, ...] = ()
    window: tuple[datetime, datetime] | None = None
    now: datetime | None = None  # a hold lapsed by then frees its slot (domain.states.occupies)
    min_capacity: int | None = None

    @property
    def narrows(self) -> bool:
        return (
            self.type is not None
            or bool(self.amenities)
            or self.window is not None
            or self.min_capacity is not None
        )


def _space_conditions(spec: SpaceFilter, params: list[Any]) -> list[str]:
    """SQL conditions on alias `s` for the filter; values are appended to `params`."""
    conditions: list[str] = []
    if spec.type is not None:
        params.append(spec.type.value)
        conditions.append(f"s.type = ${len(params)}")
    if spec.amenities:
        params.append(list(spec.amenities))
        codes = len(params)
        params.append(len(spec.amenities))
        conditions.append(
            "(SELECT count(DISTINCT a.code) FROM space_amenity sa"
            " JOIN amenities a ON a.id = sa.amenity_id"
            f" WHERE sa.spaces_id = s.id AND a.code = ANY(${codes}::text[])) = ${len(params)}"
        )
    if spec.min_capacity is not None:
        params.append(spec.min_capacity)
        conditions.append(f"s.capacity >= ${len(params)}")
    if spec.window is not None:
        conditions.append(_free_sql(spec, params))
    return conditions


def _free_sql(spec: SpaceFilter, params: list[Any]) -> str:
    assert spec.window is not None
    assert spec.now is not None
    params.extend((*spec.window, spec.now))
    lo, hi, now = len(params) - 2, len(params) - 1, len(params)
    # Free means bookable: the window, widened by the space's buffers, meets no booking's
    # guarded range (the exclusion constraint's very expression).
    wanted = (
        f"booking_guard(${lo}::timestamptz, ${hi}::timestamptz,"
        " s.buffer_before_minutes, s.buffer_after_minutes)"
    )
    return (
        "NOT EXISTS (SELECT 1 FROM bookings b WHERE b.space_id = s.id"
        f" AND {occupies_sql('b', f'${now}::timestamptz')} AND {guard_sql('b')} && {wanted})"
    )


async def location_matches(spec: SpaceFilter, *, city: str | None) -> dict[int, int]:
    """Active locations (in `city`, if given) → count of their active spaces matching `spec`.

    Without a narrowing filter every active location is listed, even one with no space.
    """
    params: list[Any] = []
    join = " AND ".join(["s.location_id = l.id", "s.active", *_space_conditions(spec, params)])
    where = ["l.active"]
    if city is not None:
        params.append(city)
        where.append(f"lower(l.city) = lower(${len(params)})")
    sql = (
        f"SELECT l.id AS location_id, count(s.id) AS matching FROM locations l"
        f" LEFT JOIN spaces s ON {join} WHERE {' AND '.join(where)} GROUP BY l.id"
    )
    if spec.narrows:
        sql += " HAVING count(s.id) > 0"
    rows = await db().execute_query_dict(sql, params)
    return {int(r["location_id"]): int(r["matching"]) for r in rows}


async def space_matches(
    location_id: int, spec: SpaceFilter, *, free_only: bool = False
) -> dict[int, bool]:
    """Active spaces of the location matching type and amenities → free for the window.

    The window never hides a space unless `free_only`; without a window every space is free.
    """
    params: list[Any] = [location_id]
    unwindowed = SpaceFilter(
        spec.type, spec.amenities, now=spec.now, min_capacity=spec.min_capacity
    )
    where = ["s.location_id = $1", "s.active", *_space_conditions(unwindowed, params)]
    free = "TRUE"
    if spec.window is not None:
        free = _free_sql(spec, params)
        if free_only:
            where.append(free)
    sql = f"SELECT s.id, {free} AS free FROM spaces s WHERE {' AND '.join(where)}"
    rows = await db().execute_query_dict(sql, params)
    return {int(r["id"]): bool(r["free"]) for r in rows}


async def unknown_amenities(codes: tuple[str, ...]) -> list[str]:
    """The codes among `codes` that name no amenity."""
    if not codes:
        return []
    known = {str(c) for c in await Amenity.filter(code__in=codes).values_list("code", flat=True)}
    return [c for c in codes if c not in known]


async def amenities_by_code(codes: list[str]) -> tuple[list[Amenity], list[str]]:
    """The amenities named by `codes`, and the codes that name none."""
    found = await Amenity.filter(code__in=codes) if codes else []
    known = {a.code for a in found}
    return list(found), [c for c in dict.fromkeys(codes) if c not in known]


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


async def get_location(location_id: int, *, public: bool) -> Location:
    """The location; public callers never see an inactive one."""
    location = await Location.get_or_none(id=location_id) if _valid_id(location_id) else None
    if location is None or (public and not location.active):
        raise LocationNotFoundError("no such location", location_id=location_id)
    return location


async def get_space(space_id: int, *, public: bool) -> Space:
    """The space with its location and amenities; public callers see only active ones."""
    space = (
        await Space.get_or_none(id=space_id).prefetch_related("location", "amenities")
        if _valid_id(space_id)
        else None
    )
    if space is None or (public and not (space.active and space.location.active)):
        raise SpaceNotFoundError("no such space", space_id=space_id)
    return space


async def get_closure(location_id: int, closure_id: int) -> Closure:
    closure = (
        await Closure.get_or_none(id=closure_id, location_id=location_id)
        if _valid_id(closure_id)
        else None
    )
    if closure is None:
        raise NotFoundError("no such closure", closure_id=closure_id)
    return closure


async def upcoming_closures(location: Location, *, now: datetime) -> list[Closure]:
    """Closures that end today or later, in the location's local calendar."""
    today = now.astimezone(load_zone(location.timezone)).date()
    return await Closure.filter(location_id=location.id, end_date__gte=today).order_by(
        "start_date", "id"
    )


# Serialisers: the one JSON shape of each resource, for both APIs.


def booking_rules(location: Location) -> dict[str, int]:
    """The effective limits: stored overrides on top of the defaults."""
    return asdict(BookingLimits(**(location.booking_rules or {})))


def cancellation_policy(location: Location) -> list[dict[str, int]]:
    return list(location.cancellation_policy or DEFAULT_POLICY.to_list())


def location_item(location: Location, *, matching_spaces: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": location.id,
        "name": location.name,
        "city": location.city,
        "address": location.address,
        "timezone": location.timezone,
        "currency": location.currency,
        "description": location.description,
        "opening_hours": location.opening_hours,
        "floors": location.floors,
        "active": location.active,
    }
    if matching_spaces is not None:
        item["matching_spaces"] = matching_spaces
    return item


def location_detail(location: Location, closures: list[Closure]) -> dict[str, Any]:
    return {
        **location_item(location),
        "closures": [closure_item(c) for c in closures],
        "cancellation_policy": cancellation_policy(location),
        "booking_rules": booking_rules(location),
    }


def closure_item(closure: Closure) -> dict[str, Any]:
    return {
        "id": closure.id,
        "location_id": closure.location_id,  # type: ignore[attr-defined]
        "start_date": closure.start_date.isoformat(),
        "end_date": closure.end_date.isoformat(),
        "reason": closure.reason,
    }


def amenity_item(amenity: Amenity) -> dict[str, Any]:
    return {"id": amenity.id, "code": amenity.code, "name": amenity.name}


def space_item(space: Space, *, currency: str, free: bool | None = None) -> dict[str, Any]:
    """A space; its `amenities` relation must be prefetched."""
    item: dict[str, Any] = {
        "id": space.id,
        "location_id": space.location_id,  # type: ignore[attr-defined]
        "name": space.name,
        "type": space.type,
        "capacity": space.capacity,
        "description": space.description,
        "hourly_price_cents": space.hourly_price_cents,
        "daily_price_cents": space.daily_price_cents,
        "currency": currency,
        "is_free": is_free(space.hourly_price_cents, space.daily_price_cents),
        "amenities": sorted(a.code for a in space.amenities),
        "floor": space.floor,
        "x": space.x,
        "y": space.y,
        "width": space.width,
        "height": space.height,
        "active": space.active,
        "buffer_before_minutes": space.buffer_before_minutes,
        "buffer_after_minutes": space.buffer_after_minutes,
        "requires_approval": space.requires_approval,
    }
    if free is not None:
        item["free"] = free
    return item
