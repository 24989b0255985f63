"""Spaces and amenities: staff writes, each audited; a space's change reaches every open map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.pricing import is_free
from cowork.domain.problems import Problem
from cowork.store import audit, models
from cowork.store import catalogue as store
from cowork.store.events import emit_catalogue_event

PLAN_LIMIT = 10_000  # the largest plan a floor without its own size may have


def check_placement(location: models.Location, values: Mapping[str, Any]) -> None:
    """Prices are valid; the space sits on one of the location's floors, inside its plan."""
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
    too_wide = values["x"] + values["width"] > plan.get("width", PLAN_LIMIT)
    too_tall = values["y"] + values["height"] > plan.get("height", PLAN_LIMIT)
    if too_wide or too_tall:
        raise Problem.OUTSIDE_FLOOR.error("The space does not fit its floor.")


async def amenities(codes: list[str]) -> list[models.Amenity]:
    found, unknown = await store.amenities_by_code(codes)
    if unknown:
        raise Problem.UNKNOWN_AMENITY.error(
            f"No amenity has the code {unknown[0]!r}.", unknown=unknown
        )
    return found


async def _save_amenities(space: models.Space, chosen: list[models.Amenity] | None) -> None:
    if chosen is not None:
        await space.amenities.clear()
        if chosen:
            await space.amenities.add(*chosen)
    await space.fetch_related("amenities")


async def create_space(
    fx: Effects, actor_id: int, location: models.Location, given: Mapping[str, Any]
) -> dict[str, Any]:
    values = {k: v for k, v in given.items() if k != "amenities"}
    check_placement(location, values)
    chosen = await amenities(list(given.get("amenities") or []))
    async with in_transaction() as conn:
        space = await models.Space.create(location_id=location.id, **values)
        await _save_amenities(space, chosen)
        item = store.space_item(space, currency=location.currency)
        await audit.record(conn, actor_id, "create", "space", space.id, location.id, None, item)
        await emit_catalogue_event(conn, "space.updated", location.id, item, space_id=space.id)
    fx.committed()
    return item


async def update_space(
    fx: Effects, actor_id: int, space: models.Space, changes: Mapping[str, Any]
) -> dict[str, Any]:
    location = space.location
    before = store.space_item(space, currency=location.currency)
    values = {k: v for k, v in changes.items() if k != "amenities"}
    check_placement(location, {**before, **values})
    chosen = None if changes.get("amenities") is None else await amenities(changes["amenities"])
    async with in_transaction() as conn:
        await space.update_from_dict(values).save()
        await _save_amenities(space, chosen)
        item = store.space_item(space, currency=location.currency)
        await audit.record(conn, actor_id, "update", "space", space.id, location.id, before, item)
        await emit_catalogue_event(conn, "space.updated", location.id, item, space_id=space.id)
    fx.committed()
    await fx.rules_changed(space_id=space.id)
    return item


async def create_amenity(fx: Effects, actor_id: int, code: str, name: str) -> dict[str, Any]:
    try:
        async with in_transaction() as conn:
            amenity = await models.Amenity.create(code=code, name=name)
            item = store.amenity_item(amenity)
            await audit.record(conn, actor_id, "create", "amenity", amenity.id, None, None, item)
    except IntegrityError as exc:
        raise Problem.AMENITY_EXISTS.error(f"The code {code!r} is taken.") from exc
    return item
