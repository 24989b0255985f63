"""Management API: locations, hours, closures, spaces and amenities, for managers and admins."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any, ClassVar

from pydantic import Field, model_validator
from sanic import Blueprint, HTTPResponse, Request, empty, json
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cowork.accounts.tokens import Principal, Role
from cowork.actors.lifecycle import announce_change
from cowork.domain.errors import InvalidInputError, InvalidPolicyError
from cowork.domain.policy import DEFAULT_POLICY, CancellationPolicy
from cowork.domain.pricing import Money, is_free
from cowork.domain.problems import Problem
from cowork.domain.schedule import BookingLimits, Closure, WeeklyHours
from cowork.domain.timezones import load_zone
from cowork.http.auth import managed_location_ids, require_manager_of, require_role
from cowork.http.catalogue import (
    AMENITY_CODE,
    AmenityOut,
    AmenityPage,
    ClosureOut,
    ClosurePage,
    LocationDetailOut,
    LocationPage,
    SpaceOut,
    SpacePage,
)
from cowork.http.docs import doc
from cowork.http.parsing import Body, PageParams, page_body, paginate, parse_body, parse_query
from cowork.store import audit, models
from cowork.store import catalogue as store
from cowork.store.catalogue import SpaceType

bp = Blueprint("manage", url_prefix="/api/v1/manage")


@bp.on_response
async def refresh_space_actors(request: Request, response: HTTPResponse) -> None:
    """A successful edit of a space or location reaches every node's space actors."""
    if request.method == "GET" or not 200 <= response.status < 300:
        return
    info = request.match_info
    if "space_id" in info:
        await announce_change(request.app, space_id=info["space_id"])
    elif "location_id" in info:
        await announce_change(request.app, location_id=info["location_id"])


TAG = "manage"
MAX_POLICY_HOURS = 24 * 365
DEFAULT_HOURS = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
STAFF = (Role.MANAGER, Role.ADMIN)


# Bodies


class Patch(Body):
    """A partial update: a field left out is unchanged; null only where `nullable` allows."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Patch:
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} cannot be null")
        return self


Interval = list[str]


class HoursIn(Body):
    """Weekday → [[open, close], ...] as "HH:MM" in local time; a day left out is closed."""

    mon: list[Interval] = Field(default_factory=list, max_length=12)
    tue: list[Interval] = Field(default_factory=list, max_length=12)
    wed: list[Interval] = Field(default_factory=list, max_length=12)
    thu: list[Interval] = Field(default_factory=list, max_length=12)
    fri: list[Interval] = Field(default_factory=list, max_length=12)
    sat: list[Interval] = Field(default_factory=list, max_length=12)
    sun: list[Interval] = Field(default_factory=list, max_length=12)

    def weekly(self) -> WeeklyHours:
        return WeeklyHours.from_dict(self.model_dump())


class FloorIn(Body):
    level: int = Field(ge=0, le=200)
    name: str = Field(min_length=1, max_length=60)
    width: int = Field(100, ge=1, le=10_000)
    height: int = Field(60, ge=1, le=10_000)


class BookingRulesIn(Body):
    granularity_minutes: int | None = Field(None, ge=1, le=1440)
    min_minutes: int | None = Field(None, ge=1, le=525_600)
    max_minutes: int | None = Field(None, ge=1, le=525_600)
    max_days_ahead: int | None = Field(None, ge=0, le=3650)
    check_in_early_minutes: int | None = Field(None, ge=0, le=1440)


class LocationCreate(Body):
    name: str = Field(min_length=1, max_length=160)
    city: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=255)
    timezone: str = Field(max_length=64, description="IANA name, e.g. Europe/Rome")
    currency: str = Field("EUR", max_length=8, description="ISO 4217, upper case")
    description: str = Field("", max_length=5000)
    floors: list[FloorIn] = Field(default_factory=list, max_length=50)
    opening_hours: HoursIn | None = Field(None, description="Default: Mon-Fri 08:00-20:00")
    cancellation_policy: list[dict[str, Any]] | None = Field(
        None, max_length=20, description="[{hours_before, percent}]; default 24h→100, 2h→50"
    )
    booking_rules: BookingRulesIn | None = None


class LocationPatch(Patch):
    name: str | None = Field(None, min_length=1, max_length=160)
    city: str | None = Field(None, min_length=1, max_length=120)
    address: str | None = Field(None, min_length=1, max_length=255)
    timezone: str | None = Field(None, max_length=64)
    currency: str | None = Field(None, max_length=8)
    description: str | None = Field(None, max_length=5000)
    floors: list[FloorIn] | None = Field(None, max_length=50)
    opening_hours: HoursIn | None = None
    cancellation_policy: list[dict[str, Any]] | None = Field(None, max_length=20)
    booking_rules: BookingRulesIn | None = Field(None, description="Merged into current rules")
    active: bool | None = Field(None, description="Admins only")


class ClosureIn(Body):
    start_date: date = Field(description="First closed local day")
    end_date: date = Field(description="Last closed local day (inclusive)")
    reason: str = Field("", max_length=255)


class SpaceCreate(Body):
    name: str = Field(min_length=1, max_length=120)
    type: SpaceType
    capacity: int = Field(1, ge=1, le=10_000)
    hourly_price_cents: int = Field(0, le=100_000_000)
    daily_price_cents: int | None = Field(None, le=1_000_000_000)
    description: str = Field("", max_length=5000)
    floor: int = Field(0, ge=0, le=200)
    x: int = Field(0, ge=0, le=10_000)
    y: int = Field(0, ge=0, le=10_000)
    width: int = Field(1, ge=1, le=10_000)
    height: int = Field(1, ge=1, le=10_000)
    amenities: list[str] = Field(default_factory=list, max_length=50)
    active: bool = True


class SpacePatch(Patch):
    nullable = frozenset({"daily_price_cents"})

    name: str | None = Field(None, min_length=1, max_length=120)
    type: SpaceType | None = None
    capacity: int | None = Field(None, ge=1, le=10_000)
    hourly_price_cents: int | None = Field(None, le=100_000_000)
    daily_price_cents: int | None = Field(None, le=1_000_000_000)
    description: str | None = Field(None, max_length=5000)
    floor: int | None = Field(None, ge=0, le=200)
    x: int | None = Field(None, ge=0, le=10_000)
    y: int | None = Field(None, ge=0, le=10_000)
    width: int | None = Field(None, ge=1, le=10_000)
    height: int | None = Field(None, ge=1, le=10_000)
    amenities: list[str] | None = Field(None, max_length=50)
    active: bool | None = None


class AmenityIn(Body):
    code: str = Field(pattern=AMENITY_CODE.pattern, description="lower_snake_case")
    name: str = Field(min_length=1, max_length=120)


# Rules applied to parsed bodies (the domain raises the specific 422s)


def _policy(tiers: list[dict[str, Any]]) -> list[dict[str, int]]:
    policy = CancellationPolicy.from_list(tiers)
    if any(t.hours_before > MAX_POLICY_HOURS for t in policy.tiers):
        raise InvalidPolicyError(f"hours_before must be at most {MAX_POLICY_HOURS}")
    return policy.to_list()


def _floors(floors: list[FloorIn]) -> list[dict[str, Any]]:
    levels = [f.level for f in floors]
    if len(set(levels)) != len(levels):
        raise InvalidInputError("floor levels must be unique", levels=levels)
    return [f.model_dump() for f in sorted(floors, key=lambda f: f.level)]


def _location_values(
    fields: dict[str, Any], body: LocationCreate | LocationPatch, current: dict[str, int]
) -> dict[str, Any]:
    """Column values for the given fields, each checked by its domain rule."""
    values = dict(fields)
    if "timezone" in fields:
        load_zone(fields["timezone"])
    if "currency" in fields:
        Money(0, fields["currency"])
    if body.floors is not None:
        values["floors"] = _floors(body.floors)
    if body.opening_hours is not None:
        values["opening_hours"] = body.opening_hours.weekly().to_dict()
    if body.cancellation_policy is not None:
        values["cancellation_policy"] = _policy(body.cancellation_policy)
    if body.booking_rules is not None:
        given = body.booking_rules.model_dump(exclude_none=True)
        values["booking_rules"] = asdict(BookingLimits(**{**current, **given}))
    return values


def _check_space(location: models.Location, values: dict[str, Any]) -> None:
    is_free(values["hourly_price_cents"], values["daily_price_cents"])
    plans: dict[int, dict[str, Any]] = {
        f["level"]: f for f in location.floors or [] if isinstance(f, dict)
    }
    if not plans:
        return
    plan = plans.get(values["floor"])
    if plan is None:
        raise Problem.UNKNOWN_FLOOR.error(
            f"The location has no floor {values['floor']}.", floors=sorted(plans)
        )
    if values["x"] + values["width"] > plan.get("width", 10_000) or values["y"] + values[
        "height"
    ] > plan.get("height", 10_000):
        raise Problem.OUTSIDE_FLOOR.error("The space does not fit its floor.")


async def _amenities(codes: list[str]) -> list[models.Amenity]:
    found, unknown = await store.amenities_by_code(codes)
    if unknown:
        raise Problem.UNKNOWN_AMENITY.error(
            f"No amenity has the code {unknown[0]!r}.", unknown=unknown
        )
    return found


async def _managed(request: Request, location_id: int) -> tuple[Principal, models.Location]:
    require_role(request, *STAFF)  # members are refused before anything is looked up
    location = await store.get_location(location_id, public=False)
    return await require_manager_of(request, location.id), location


async def _managed_space(request: Request, space_id: int) -> tuple[Principal, models.Space]:
    require_role(request, *STAFF)
    space = await store.get_space(space_id, public=False)
    return await require_manager_of(request, space.location.id), space


async def _detail(location: models.Location) -> dict[str, Any]:
    closures = await models.Closure.filter(location_id=location.id).order_by("start_date", "id")
    return store.location_detail(location, closures)


# Locations


@bp.get("/locations")
@doc(
    "Locations I manage (all for admins), inactive included",
    tag=TAG,
    query=PageParams,
    response=LocationPage,
    errors=(400, 403, 422),
)
async def list_locations(request: Request) -> HTTPResponse:
    principal = require_role(request, *STAFF)
    page = parse_query(request, PageParams)
    allowed = await managed_location_ids(principal)
    queryset = models.Location.all() if allowed is None else models.Location.filter(id__in=allowed)
    rows, cursor = await paginate(queryset, page)
    return json(page_body([store.location_item(loc) for loc in rows], cursor))


@bp.post("/locations")
@doc(
    "Create a location (admins)",
    tag=TAG,
    body=LocationCreate,
    response=LocationDetailOut,
    status=201,
    errors=(400, 403),
)
async def create_location(request: Request) -> HTTPResponse:
    principal = require_role(request, Role.ADMIN)
    body = parse_body(request, LocationCreate)
    base = body.model_dump(include={"name", "city", "address", "timezone", "currency"})
    values = _location_values(base, body, {})
    values["description"] = body.description
    values.setdefault("opening_hours", WeeklyHours.from_dict(DEFAULT_HOURS).to_dict())
    values.setdefault("cancellation_policy", DEFAULT_POLICY.to_list())
    values.setdefault("booking_rules", asdict(BookingLimits()))
    async with in_transaction() as conn:
        location = await models.Location.create(**values)
        after = store.location_item(location)
        await audit.record(
            conn, principal.user_id, "create", "location", location.id, location.id, None, after
        )
    headers = {"location": f"/api/v1/manage/locations/{location.id}"}
    return json(await _detail(location), status=201, headers=headers)


@bp.get("/locations/<location_id:int>")
@doc("A location with all its closures", tag=TAG, response=LocationDetailOut, errors=(403, 404))
async def get_location(request: Request, location_id: int) -> HTTPResponse:
    _, location = await _managed(request, location_id)
    return json(await _detail(location))


@bp.patch("/locations/<location_id:int>")
@doc(
    "Change a location (deactivating is for admins)",
    tag=TAG,
    body=LocationPatch,
    response=LocationDetailOut,
    errors=(400, 403, 404),
)
async def patch_location(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, LocationPatch)
    if "active" in body.model_fields_set and not principal.is_admin:
        raise Problem.FORBIDDEN.error("Only admins activate or deactivate.")
    plain = {"name", "city", "address", "timezone", "currency", "description", "active"}
    fields = body.model_dump(include=plain & body.model_fields_set)
    values = _location_values(fields, body, store.booking_rules(location))
    before = store.location_item(location)
    async with in_transaction() as conn:
        await location.update_from_dict(values).save()
        await audit.record(
            conn,
            principal.user_id,
            "update",
            "location",
            location.id,
            location.id,
            before,
            store.location_item(location),
        )
    return json(await _detail(location))


@bp.put("/locations/<location_id:int>/hours")
@doc(
    "Replace the weekly opening hours (local time)",
    tag=TAG,
    body=HoursIn,
    response=LocationDetailOut,
    errors=(400, 403, 404),
)
async def put_hours(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    hours = parse_body(request, HoursIn).weekly().to_dict()
    before = {"opening_hours": location.opening_hours}
    async with in_transaction() as conn:
        location.opening_hours = hours
        await location.save(update_fields=["opening_hours", "updated_at"])
        await audit.record(
            conn,
            principal.user_id,
            "update_hours",
            "location",
            location.id,
            location.id,
            before,
            {"opening_hours": hours},
        )
    return json(await _detail(location))


# Closures


@bp.get("/locations/<location_id:int>/closures")
@doc(
    "Closures of a location, past ones included",
    tag=TAG,
    query=PageParams,
    response=ClosurePage,
    errors=(400, 403, 404, 422),
)
async def list_closures(request: Request, location_id: int) -> HTTPResponse:
    _, location = await _managed(request, location_id)
    page = parse_query(request, PageParams)
    rows, cursor = await paginate(models.Closure.filter(location_id=location.id), page)
    return json(page_body([store.closure_item(c) for c in rows], cursor))


@bp.post("/locations/<location_id:int>/closures")
@doc(
    "Close whole local days (inclusive)",
    tag=TAG,
    body=ClosureIn,
    response=ClosureOut,
    status=201,
    errors=(400, 403, 404),
)
async def create_closure(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, ClosureIn)
    Closure(body.start_date, body.end_date, body.reason)
    async with in_transaction() as conn:
        closure = await models.Closure.create(
            location_id=location.id,
            start_date=body.start_date,
            end_date=body.end_date,
            reason=body.reason,
        )
        item = store.closure_item(closure)
        await audit.record(
            conn, principal.user_id, "create", "closure", closure.id, location.id, None, item
        )
    headers = {"location": f"/api/v1/manage/locations/{location.id}/closures/{closure.id}"}
    return json(item, status=201, headers=headers)


@bp.delete("/locations/<location_id:int>/closures/<closure_id:int>")
@doc("Remove a closure", tag=TAG, status=204, errors=(403, 404))
async def delete_closure(request: Request, location_id: int, closure_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    closure = await store.get_closure(location.id, closure_id)
    async with in_transaction() as conn:
        await closure.delete()
        await audit.record(
            conn,
            principal.user_id,
            "delete",
            "closure",
            closure_id,
            location.id,
            store.closure_item(closure),
            None,
        )
    return empty()


# Spaces


@bp.get("/locations/<location_id:int>/spaces")
@doc(
    "Spaces of a location, inactive included",
    tag=TAG,
    query=PageParams,
    response=SpacePage,
    errors=(400, 403, 404, 422),
)
async def list_spaces(request: Request, location_id: int) -> HTTPResponse:
    _, location = await _managed(request, location_id)
    page = parse_query(request, PageParams)
    queryset = models.Space.filter(location_id=location.id).prefetch_related("amenities")
    rows, cursor = await paginate(queryset, page)
    items = [store.space_item(s, currency=location.currency) for s in rows]
    return json(page_body(items, cursor))


@bp.post("/locations/<location_id:int>/spaces")
@doc(
    "Add a space", tag=TAG, body=SpaceCreate, response=SpaceOut, status=201, errors=(400, 403, 404)
)
async def create_space(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, SpaceCreate)
    values = body.model_dump(exclude={"amenities"})
    _check_space(location, values)
    amenities = await _amenities(body.amenities)
    async with in_transaction() as conn:
        space = await models.Space.create(location_id=location.id, **values)
        if amenities:
            await space.amenities.add(*amenities)
        await space.fetch_related("amenities")
        item = store.space_item(space, currency=location.currency)
        await audit.record(
            conn, principal.user_id, "create", "space", space.id, location.id, None, item
        )
    headers = {"location": f"/api/v1/spaces/{space.id}"}
    return json(item, status=201, headers=headers)


@bp.patch("/spaces/<space_id:int>")
@doc(
    "Change a space (prices, type, amenities, geometry, active)",
    tag=TAG,
    body=SpacePatch,
    response=SpaceOut,
    errors=(400, 403, 404),
)
async def patch_space(request: Request, space_id: int) -> HTTPResponse:
    principal, space = await _managed_space(request, space_id)
    body = parse_body(request, SpacePatch)
    location = space.location
    before = store.space_item(space, currency=location.currency)
    changes = body.model_dump(include=body.model_fields_set - {"amenities"})
    _check_space(location, {**before, **changes})
    amenities = None if body.amenities is None else await _amenities(body.amenities)
    async with in_transaction() as conn:
        await space.update_from_dict(changes).save()
        if amenities is not None:
            await space.amenities.clear()
            if amenities:
                await space.amenities.add(*amenities)
        await space.fetch_related("amenities")
        item = store.space_item(space, currency=location.currency)
        await audit.record(
            conn, principal.user_id, "update", "space", space.id, location.id, before, item
        )
    return json(item)


# Amenities


@bp.get("/amenities")
@doc("All amenities", tag=TAG, query=PageParams, response=AmenityPage, errors=(400, 403, 422))
async def list_amenities(request: Request) -> HTTPResponse:
    require_role(request, *STAFF)
    page = parse_query(request, PageParams)
    rows, cursor = await paginate(models.Amenity.all(), page)
    return json(page_body([store.amenity_item(a) for a in rows], cursor))


@bp.post("/amenities")
@doc(
    "Add an amenity",
    tag=TAG,
    body=AmenityIn,
    response=AmenityOut,
    status=201,
    errors=(400, 403, 409),
)
async def create_amenity(request: Request) -> HTTPResponse:
    principal = require_role(request, *STAFF)
    body = parse_body(request, AmenityIn)
    try:
        async with in_transaction() as conn:
            amenity = await models.Amenity.create(code=body.code, name=body.name)
            item = store.amenity_item(amenity)
            await audit.record(
                conn, principal.user_id, "create", "amenity", amenity.id, None, None, item
            )
    except IntegrityError as exc:
        raise Problem.AMENITY_EXISTS.error(f"The code {body.code!r} is taken.") from exc
    return json(item, status=201)
