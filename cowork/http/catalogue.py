"""Public catalogue: locations, spaces and amenities; search by type, amenities, free time."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator
from sanic import Blueprint, HTTPResponse, Request, json
from tortoise.models import Model

from cowork.domain.problems import Problem
from cowork.http.context import services
from cowork.http.docs import doc
from cowork.http.parsing import PageParams, page_body, paginate, parse_query
from cowork.store import catalogue as store
from cowork.store.catalogue import SpaceFilter, SpaceType
from cowork.store.models import Amenity, Location, Space

M = TypeVar("M", bound=Model)

bp = Blueprint("catalogue", url_prefix="/api/v1")

AMENITY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A "+01:00" offset sent unencoded in a query string arrives as " 01:00".
_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")


# Response shapes (OpenAPI only; the serialisers in store.catalogue build the JSON).


class AmenityOut(BaseModel):
    id: int
    code: str
    name: str


class FloorOut(BaseModel):
    level: int
    name: str
    width: int
    height: int


class ClosureOut(BaseModel):
    id: int
    location_id: int
    start_date: str
    end_date: str
    reason: str


class RefundTierOut(BaseModel):
    hours_before: int
    percent: int


class BookingRulesOut(BaseModel):
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


class LocationOut(BaseModel):
    id: int
    name: str
    city: str
    address: str
    timezone: str
    currency: str
    description: str
    opening_hours: dict[str, list[list[str]]]
    floors: list[FloorOut]
    active: bool
    matching_spaces: int | None = Field(None, description="Only in search results")


class LocationDetailOut(LocationOut):
    closures: list[ClosureOut]
    cancellation_policy: list[RefundTierOut]
    booking_rules: BookingRulesOut


class SpaceOut(BaseModel):
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
    free: bool | None = Field(None, description="Bookable for all of [from, to); with from/to")


class LocationPage(BaseModel):
    items: list[LocationOut]
    next_cursor: str | None


class SpacePage(BaseModel):
    items: list[SpaceOut]
    next_cursor: str | None


class AmenityPage(BaseModel):
    items: list[AmenityOut]
    next_cursor: str | None


class ClosurePage(BaseModel):
    items: list[ClosureOut]
    next_cursor: str | None


# Queries


class SpaceSearch(PageParams):
    type: SpaceType | None = None
    amenities: str | None = Field(None, description="Comma-separated amenity codes (all needed)")
    from_: AwareDatetime | None = Field(None, alias="from", description="ISO-8601 with offset")
    to: AwareDatetime | None = Field(None, description="ISO-8601 with offset, after `from`")
    min_capacity: int | None = Field(None, ge=1, le=10_000, description="At least this many seats")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _restore_plus(cls, value: Any) -> Any:
        return _SPACED_OFFSET.sub(r"+\1", value) if isinstance(value, str) else value

    @field_validator("amenities")
    @classmethod
    def _codes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for code in (c.strip() for c in value.split(",")):
            if code and not AMENITY_CODE.match(code):
                raise ValueError(f"{code[:64]!r} is not an amenity code")
        return value

    @model_validator(mode="after")
    def _window(self) -> SpaceSearch:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both `from` and `to`, or neither")
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("`to` must be after `from`")
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
    free_only: bool = Field(False, description="With from/to: keep only free spaces")


# Handlers


@bp.get("/locations")
@doc(
    "Find locations (city, space type, amenities, free between from and to)",
    tag="catalogue",
    query=LocationSearch,
    response=LocationPage,
    auth=False,
    errors=(400, 422),
)
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
    auth=False,
    errors=(404,),
)
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
    auth=False,
    errors=(400, 404, 422),
)
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
    auth=False,
    errors=(404,),
)
async def get_space(request: Request, space_id: int) -> HTTPResponse:
    space = await store.get_space(space_id, public=True)
    return json(store.space_item(space, currency=space.location.currency))


@bp.get("/amenities")
@doc(
    "Amenity codes usable in filters",
    tag="catalogue",
    query=PageParams,
    response=AmenityPage,
    auth=False,
    errors=(400, 422),
)
async def list_amenities(request: Request) -> HTTPResponse:
    page = parse_query(request, PageParams)
    rows, cursor = await paginate(Amenity.all(), page)
    return json(page_body([store.amenity_item(a) for a in rows], cursor))
