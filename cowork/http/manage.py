"""Management API: locations, hours, closures, spaces and amenities, for managers and admins."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.accounts.tokens import Principal, Role
from cowork.actions import locations as location_actions
from cowork.actions import spaces as space_actions
from cowork.domain.problems import Problem
from cowork.http.auth import managed_location_ids, require_manager_of, require_role
from cowork.http.catalogue import (
    AmenityOut,
    AmenityPage,
    ClosureOut,
    ClosurePage,
    LocationDetailOut,
    LocationPage,
    SpaceOut,
    SpacePage,
)
from cowork.http.context import services
from cowork.http.docs import Link, doc
from cowork.http.manage_bodies import (
    AmenityIn,
    ClosureIn,
    HoursIn,
    LocationCreate,
    LocationPatch,
    SpaceCreate,
    SpacePatch,
)
from cowork.http.parsing import PageParams, page_body, paginate, parse_body, parse_query
from cowork.store import catalogue as store
from cowork.store import models

bp = Blueprint("manage", url_prefix="/api/v1/manage")

TAG = "manage"
STAFF = (Role.MANAGER, Role.ADMIN)
LOCATION_RULES = (
    Problem.INVALID_TIMEZONE,
    Problem.INVALID_OPENING_HOURS,
    Problem.INVALID_CANCELLATION_POLICY,
    Problem.INVALID_BOOKING_LIMITS,
    Problem.INVALID_MONEY,
    Problem.INVALID_INPUT,
)
SPACE_RULES = (
    Problem.UNKNOWN_FLOOR,
    Problem.OUTSIDE_FLOOR,
    Problem.UNKNOWN_AMENITY,
    Problem.INVALID_PRICE,
)
_LOCATION = {"location_id": "$response.body#/id"}
LOCATION_LINKS = {
    "get": Link("manage_get_location", _LOCATION, "Read it (staff view)"),
    "patch": Link("manage_patch_location", _LOCATION, "Change it"),
    "hours": Link("manage_put_hours", _LOCATION, "Set its opening hours"),
    "closures": Link("manage_list_closures", _LOCATION, "Its closures"),
    "addClosure": Link("manage_create_closure", _LOCATION, "Close some days"),
    "spaces": Link("manage_list_spaces", _LOCATION, "Its spaces"),
    "addSpace": Link("manage_create_space", _LOCATION, "Add a space"),
    "public": Link("catalogue_get_location", _LOCATION, "As the public sees it"),
    "floor": Link("bookings_floor", _LOCATION, "Its live floor map"),
}
_SPACE = {"space_id": "$response.body#/id"}
SPACE_LINKS = {
    "get": Link("catalogue_get_space", _SPACE, "As the public sees it"),
    "patch": Link("manage_patch_space", _SPACE, "Change it"),
    "hold": Link("bookings_place_hold", _SPACE, "Book it"),
    "series": Link("series_create", _SPACE, "Book it every week or day"),
    "wait": Link("waitlist_join", _SPACE, "Wait for a taken slot"),
    "availability": Link("bookings_availability", _SPACE, "Its busy and free times"),
    "presence": Link("streams_space_presence", _SPACE, "Who watches it"),
}


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
    errors=(Problem.FORBIDDEN,),
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
    links=LOCATION_LINKS,
    errors=(Problem.FORBIDDEN, *LOCATION_RULES),
)
async def create_location(request: Request) -> HTTPResponse:
    principal = require_role(request, Role.ADMIN)
    body = parse_body(request, LocationCreate)
    location = await location_actions.create_location(
        services(request), principal.user_id, body.model_dump(mode="json")
    )
    headers = {"location": f"/api/v1/manage/locations/{location.id}"}
    return json(await _detail(location), status=201, headers=headers)


@bp.get("/locations/<location_id:int>")
@doc(
    "A location with all its closures",
    tag=TAG,
    response=LocationDetailOut,
    errors=(Problem.FORBIDDEN,),
)
async def get_location(request: Request, location_id: int) -> HTTPResponse:
    _, location = await _managed(request, location_id)
    return json(await _detail(location))


@bp.patch("/locations/<location_id:int>")
@doc(
    "Change a location (deactivating is for admins)",
    tag=TAG,
    body=LocationPatch,
    response=LocationDetailOut,
    errors=(Problem.FORBIDDEN, *LOCATION_RULES),
)
async def patch_location(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, LocationPatch)
    if "active" in body.model_fields_set and not principal.is_admin:
        raise Problem.FORBIDDEN.error("Only admins activate or deactivate.")
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    await location_actions.update_location(services(request), principal.user_id, location, changes)
    return json(await _detail(location))


@bp.put("/locations/<location_id:int>/hours")
@doc(
    "Replace the weekly opening hours (local time)",
    tag=TAG,
    body=HoursIn,
    response=LocationDetailOut,
    errors=(Problem.FORBIDDEN, Problem.INVALID_OPENING_HOURS),
)
async def put_hours(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    hours = parse_body(request, HoursIn).model_dump()
    await location_actions.set_hours(services(request), principal.user_id, location, hours)
    return json(await _detail(location))


# Closures


@bp.get("/locations/<location_id:int>/closures")
@doc(
    "Closures of a location, past ones included",
    tag=TAG,
    query=PageParams,
    response=ClosurePage,
    errors=(Problem.FORBIDDEN,),
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
    links={
        "delete": Link(
            "manage_delete_closure",
            {"location_id": "$response.body#/location_id", "closure_id": "$response.body#/id"},
            "Remove it",
        )
    },
    errors=(Problem.FORBIDDEN, Problem.INVALID_CLOSURE),
)
async def create_closure(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, ClosureIn)
    closure = await location_actions.add_closure(
        services(request), principal.user_id, location, body.start_date, body.end_date, body.reason
    )
    headers = {"location": f"/api/v1/manage/locations/{location.id}/closures/{closure.id}"}
    return json(store.closure_item(closure), status=201, headers=headers)


@bp.delete("/locations/<location_id:int>/closures/<closure_id:int>")
@doc("Remove a closure", tag=TAG, status=204, errors=(Problem.FORBIDDEN,))
async def delete_closure(request: Request, location_id: int, closure_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    closure = await store.get_closure(location.id, closure_id)
    await location_actions.remove_closure(services(request), principal.user_id, location, closure)
    return empty()


# Spaces


@bp.get("/locations/<location_id:int>/spaces")
@doc(
    "Spaces of a location, inactive included",
    tag=TAG,
    query=PageParams,
    response=SpacePage,
    errors=(Problem.FORBIDDEN,),
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
    "Add a space",
    tag=TAG,
    body=SpaceCreate,
    response=SpaceOut,
    status=201,
    links=SPACE_LINKS,
    errors=(Problem.FORBIDDEN, *SPACE_RULES),
)
async def create_space(request: Request, location_id: int) -> HTTPResponse:
    principal, location = await _managed(request, location_id)
    body = parse_body(request, SpaceCreate)
    item = await space_actions.create_space(
        services(request), principal.user_id, location, body.model_dump(mode="json")
    )
    return json(item, status=201, headers={"location": f"/api/v1/spaces/{item['id']}"})


@bp.patch("/spaces/<space_id:int>")
@doc(
    "Change a space (prices, type, amenities, geometry, active)",
    tag=TAG,
    body=SpacePatch,
    response=SpaceOut,
    errors=(Problem.FORBIDDEN, *SPACE_RULES),
)
async def patch_space(request: Request, space_id: int) -> HTTPResponse:
    principal, space = await _managed_space(request, space_id)
    body = parse_body(request, SpacePatch)
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    item = await space_actions.update_space(services(request), principal.user_id, space, changes)
    return json(item)


# Amenities


@bp.get("/amenities")
@doc("All amenities", tag=TAG, query=PageParams, response=AmenityPage, errors=(Problem.FORBIDDEN,))
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
    errors=(Problem.FORBIDDEN, Problem.AMENITY_EXISTS),
)
async def create_amenity(request: Request) -> HTTPResponse:
    principal = require_role(request, *STAFF)
    body = parse_body(request, AmenityIn)
    item = await space_actions.create_amenity(
        services(request), principal.user_id, body.code, body.name
    )
    return json(item, status=201)
