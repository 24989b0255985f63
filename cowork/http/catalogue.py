"""Public catalogue: locations, spaces and amenities; search by type, amenities, free time."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TypeVar

from pydantic import Field, model_validator
from sanic import Blueprint, HTTPResponse, Request, json
from tortoise.models import Model

from cowork.domain.problems import Problem
from cowork.http.cached import cached_read
from cowork.http.context import services
from cowork.http.docs import Auth, Link, Out, doc, sometimes
from cowork.http.parsing import Flag, PageParams, QueryInstant, page_body, paginate, parse_query
from cowork.store import catalogue as store
from cowork.store.catalogue import SpaceFilter, SpaceType
from cowork.store.models import Amenity, Location, Space

M = TypeVar("M", bound=Model)

bp = Blueprint("catalogue", url_prefix="/api/v1")

AMENITY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# Response shapes (the serialisers in store.catalogue build the JSON; these declare it).


class AmenityOut(Out):
    id: int
    code: str
    name: str


class FloorOut(Out):
    level: int
    name: str
    width: int
    height: int


class ClosureOut(Out):
    id: int
    location_id: int
    start_date: date
    end_date: date
    reason: str


class RefundTierOut(Out):
    hours_before: int
    percent: int


class BookingRulesOut(Out):
    granularity_minutes: int
    min_minutes: int
    max_minutes: int
    max_days_ahead: int
    check_in_early_minutes: int
    check_in_needs_presence: bool
    approval_hours: int = Field(description="Managers decide a request within this long")
    waitlist_offer_minutes: int = Field(description="How long a waitlist offer holds the slot")
    max_hours_per_week: int | None = Field(description="Per member, local Monday-Sunday")
    max_concurrent_holds: int | None = Field(description="Per member: unpaid or unapproved")
    max_bookings_ahead: int | None = Field(description="Per member: upcoming live bookings")


class LocationOut(Out):
    id: int
    name: str
    city: str
    address: str
    timezone: str
    currency: str
    description: str
    opening_hours: dict[str, list[list[str]]] = Field(
        description="Weekday (mon..sun) → [[open, close], ...] as HH:MM local time"
    )
    floors: list[FloorOut]
    active: bool
    matching_spaces: int = sometimes("Only in search results")


class LocationDetailOut(LocationOut):
    closures: list[ClosureOut]
    cancellation_policy: list[RefundTierOut]
    booking_rules: BookingRulesOut


class SpaceOut(Out):
    id: int
    location_id: int
    name: str
    type: SpaceType
    capacity: int
    description: str
    hourly_price_cents: int
    daily_price_cents: int | None
    currency: str
    is_free: bool = Field(description="Every slot prices at 0")
    amenities: list[str]
    floor: int
    x: int
    y: int
    width: int
    height: int
    active: bool
    buffer_before_minutes: int = Field(description="Turnaround kept free before each booking")
    buffer_after_minutes: int = Field(description="Turnaround kept free after each booking")
    requires_approval: bool = Field(description="Requests wait for a manager's approval")
    free: bool = sometimes("Bookable for all of [from, to); only with from/to")


class LocationPage(Out):
    items: list[LocationOut]
    next_cursor: str | None


class SpacePage(Out):
    items: list[SpaceOut]
    next_cursor: str | None


class AmenityPage(Out):
    items: list[AmenityOut]
    next_cursor: str | None


class ClosurePage(Out):
    items: list[ClosureOut]
    next_cursor: str | None


# Queries

_CODE = "[a-z][a-z0-9_]{0,63}"
AMENITY_LIST = f"^ *({_CODE} *)?(, *({_CODE} *)?)*$"


class SpaceSearch(PageParams):
    type: SpaceType | None = None
    amenities: str | None = Field(
        None,
        max_length=1000,
        pattern=AMENITY_LIST,
        description="Comma-separated amenity codes (all needed)",
    )
    from_: QueryInstant | None = Field(None, alias="from", description="With `to`")
    to: QueryInstant | None = Field(None, description="With `from`, after it")
    min_capacity: int | None = Field(None, ge=1, le=10_000, description="At least this many seats")

    @model_validator(mode="after")
    def _window(self) -> SpaceSearch:
        if (self.from_ is None) != (self.to is None):
            raise Problem.INVALID_WINDOW.error("Give both `from` and `to`, or neither.")
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise Problem.INVALID_WINDOW.error("`to` must be after `from`.")
        return self

    def codes(self) -> tuple[str, ...]:
        raw = (c.strip() for c in (self.amenities or "").split(","))
        return tuple(dict.fromkeys(c for c in raw if c))

    async def space_filter(self, now: datetime) -> SpaceFilter:
        codes = self.codes()
        unknown = await store.unknown_amenities(codes)
        if unknown:
            raise Problem.UNKNOWN_AMENITY.error(
                f"No amenity has the code {unknown[0]!r}.", unknown=unknown
            )
        window = (self.from_, self.to) if self.from_ and self.to else None
        return SpaceFilter(self.type, codes, window, now, self.min_capacity)


class LocationSearch(SpaceSearch):
    city: str | None = Field(None, min_length=1, max_length=120, description="Exact, any case")


class SpaceListQuery(SpaceSearch):
    free_only: Flag = Field(False, description="With from/to: keep only free spaces")


SEARCH_PROBLEMS = (Problem.UNKNOWN_AMENITY, Problem.INVALID_WINDOW)
_FIRST = "$response.body#/items/0/id"


# Handlers


@bp.get("/locations")
@doc(
    "Find locations (city, space type, amenities, free between from and to)",
    tag="catalogue",
    query=LocationSearch,
    response=LocationPage,
    auth=Auth.NONE,
    errors=SEARCH_PROBLEMS,
    links={
        "firstSpaces": Link("catalogue_list_location_spaces", {"location_id": _FIRST}),
        "firstFloor": Link("bookings_floor", {"location_id": _FIRST}),
    },
)
@cached_read()
async def list_locations(request: Request) -> HTTPResponse:
    query = parse_query(request, LocationSearch)
    spec = await query.space_filter(services(request).clock.now())
    counts = await store.location_matches(spec, city=query.city)
    rows, cursor = await paginate(Location.filter(id__in=list(counts)), query)
    items = [store.location_item(loc, matching_spaces=counts[loc.id]) for loc in rows]
    return json(page_body(items, cursor))


@bp.get("/locations/<location_id:int>")
@doc(
    "A location with upcoming closures, policy and booking rules",
    tag="catalogue",
    response=LocationDetailOut,
    auth=Auth.NONE,
)
@cached_read()
async def get_location(request: Request, location_id: int) -> HTTPResponse:
    location = await store.get_location(location_id, public=True)
    closures = await store.upcoming_closures(location, now=services(request).clock.now())
    return json(store.location_detail(location, closures))


@bp.get("/locations/<location_id:int>/spaces")
@doc(
    "Spaces of a location (type, amenities; `free` for the from/to window)",
    tag="catalogue",
    query=SpaceListQuery,
    response=SpacePage,
    auth=Auth.NONE,
    errors=SEARCH_PROBLEMS,
    links={
        "holdFirst": Link("bookings_place_hold", {"space_id": _FIRST}),
        "firstAvailability": Link("bookings_availability", {"space_id": _FIRST}),
        "firstSpace": Link("catalogue_get_space", {"space_id": _FIRST}),
    },
)
@cached_read()
async def list_location_spaces(request: Request, location_id: int) -> HTTPResponse:
    query = parse_query(request, SpaceListQuery)
    location = await store.get_location(location_id, public=True)
    spec = await query.space_filter(services(request).clock.now())
    free = await store.space_matches(location.id, spec, free_only=query.free_only)
    queryset = Space.filter(id__in=list(free)).prefetch_related("amenities")
    rows, cursor = await paginate(queryset, query)
    window = spec.window is not None
    items = [
        store.space_item(s, currency=location.currency, free=free[s.id] if window else None)
        for s in rows
    ]
    return json(page_body(items, cursor))


@bp.get("/spaces/<space_id:int>")
@doc(
    "A space: prices, amenities and floor geometry",
    tag="catalogue",
    response=SpaceOut,
    auth=Auth.NONE,
)
@cached_read(timeless=True)
async def get_space(request: Request, space_id: int) -> HTTPResponse:
    space = await store.get_space(space_id, public=True)
    return json(store.space_item(space, currency=space.location.currency))


@bp.get("/amenities")
@doc(
    "Amenity codes usable in filters",
    tag="catalogue",
    query=PageParams,
    response=AmenityPage,
    auth=Auth.NONE,
)
@cached_read(timeless=True)
async def list_amenities(request: Request) -> HTTPResponse:
    page = parse_query(request, PageParams)
    rows, cursor = await paginate(Amenity.all(), page)
    return json(page_body([store.amenity_item(a) for a in rows], cursor))
