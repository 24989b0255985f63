"""Locations, opening hours and closures: staff writes, each audited and announced live."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.errors import InvalidInputError, InvalidPolicyError
from cowork.domain.policy import DEFAULT_POLICY, CancellationPolicy
from cowork.domain.pricing import Money
from cowork.domain.quotas import Limit
from cowork.domain.schedule import BookingLimits, Closure, WeeklyHours
from cowork.domain.timezones import load_zone
from cowork.store import audit, models
from cowork.store import catalogue as store
from cowork.store.events import emit_catalogue_event

MAX_POLICY_HOURS = 24 * 365
DEFAULT_HOURS = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
PLAIN_FIELDS = ("name", "city", "address", "timezone", "currency", "description", "active")


def _policy(tiers: list[dict[str, Any]]) -> list[dict[str, int]]:
    policy = CancellationPolicy.from_list(tiers)
    if any(t.hours_before > MAX_POLICY_HOURS for t in policy.tiers):
        raise InvalidPolicyError(f"hours_before must be at most {MAX_POLICY_HOURS}")
    return policy.to_list()


def _floors(floors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    levels = [f["level"] for f in floors]
    if len(set(levels)) != len(levels):
        raise InvalidInputError("floor levels must be unique", levels=levels)
    return sorted(floors, key=lambda f: f["level"])


def location_values(given: Mapping[str, Any], current_rules: dict[str, int]) -> dict[str, Any]:
    """Column values for the given fields, each checked by its domain rule."""
    values = {k: given[k] for k in PLAIN_FIELDS if k in given}
    if "timezone" in given:
        load_zone(given["timezone"])
    if "currency" in given:
        Money(0, given["currency"])
    if given.get("floors") is not None:
        values["floors"] = _floors(given["floors"])
    if given.get("opening_hours") is not None:
        values["opening_hours"] = WeeklyHours.from_dict(given["opening_hours"]).to_dict()
    if given.get("cancellation_policy") is not None:
        values["cancellation_policy"] = _policy(given["cancellation_policy"])
    if given.get("booking_rules") is not None:
        wanted = {k: v for k, v in given["booking_rules"].items() if v is not None}
        # A per-member limit of 0 is no limit (null in the body means "leave unchanged").
        wanted.update({q.value: None for q in Limit if wanted.get(q.value) == 0})
        values["booking_rules"] = asdict(BookingLimits(**{**current_rules, **wanted}))
    return values


async def _announce(fx: Effects, conn: Any, location: models.Location, what: str) -> None:
    data = {"location_id": location.id, "changed": what, **store.location_item(location)}
    await emit_catalogue_event(conn, "location.updated", location.id, data)


async def _after(fx: Effects, location_id: int) -> None:
    fx.committed()
    await fx.rules_changed(location_id=location_id)


async def create_location(fx: Effects, actor_id: int, given: Mapping[str, Any]) -> models.Location:
    values = location_values(given, {})
    values.setdefault("opening_hours", WeeklyHours.from_dict(DEFAULT_HOURS).to_dict())
    values.setdefault("cancellation_policy", DEFAULT_POLICY.to_list())
    values.setdefault("booking_rules", asdict(BookingLimits()))
    async with in_transaction() as conn:
        location = await models.Location.create(**values)
        after = store.location_item(location)
        await audit.record(
            conn, actor_id, "create", "location", location.id, location.id, None, after
        )
    return location


async def update_location(
    fx: Effects, actor_id: int, location: models.Location, changes: Mapping[str, Any]
) -> models.Location:
    values = location_values(changes, store.booking_rules(location))
    before = store.location_item(location)
    async with in_transaction() as conn:
        await location.update_from_dict(values).save()
        after = store.location_item(location)
        await audit.record(
            conn, actor_id, "update", "location", location.id, location.id, before, after
        )
        await _announce(fx, conn, location, "details")
    await _after(fx, location.id)
    return location


async def set_hours(
    fx: Effects, actor_id: int, location: models.Location, hours: dict[str, Any]
) -> models.Location:
    weekly = WeeklyHours.from_dict(hours).to_dict()
    before = {"opening_hours": location.opening_hours}
    async with in_transaction() as conn:
        location.opening_hours = weekly
        await location.save(update_fields=["opening_hours", "updated_at"])
        after = {"opening_hours": weekly}
        await audit.record(
            conn, actor_id, "update_hours", "location", location.id, location.id, before, after
        )
        await _announce(fx, conn, location, "opening_hours")
    await _after(fx, location.id)
    return location


async def add_closure(
    fx: Effects, actor_id: int, location: models.Location, first: date, last: date, reason: str
) -> models.Closure:
    Closure(first, last, reason)  # the domain checks the dates
    async with in_transaction() as conn:
        closure = await models.Closure.create(
            location_id=location.id, start_date=first, end_date=last, reason=reason
        )
        item = store.closure_item(closure)
        await audit.record(conn, actor_id, "create", "closure", closure.id, location.id, None, item)
        await _announce(fx, conn, location, "closures")
    await _after(fx, location.id)
    return closure


async def remove_closure(
    fx: Effects, actor_id: int, location: models.Location, closure: models.Closure
) -> None:
    async with in_transaction() as conn:
        await closure.delete()
        item = store.closure_item(closure)
        await audit.record(conn, actor_id, "delete", "closure", closure.id, location.id, item, None)
        await _announce(fx, conn, location, "closures")
    await _after(fx, location.id)
