"""Request bodies of the management API (also its OpenAPI schemas)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, model_validator

from cowork.actions.locations import MAX_POLICY_HOURS
from cowork.domain.buffers import MAX_BUFFER_MINUTES
from cowork.domain.schedule import WeeklyHours
from cowork.http.catalogue import AMENITY_CODE
from cowork.http.parsing import Body, LocalDate, declare_no_nul
from cowork.store.catalogue import SpaceType

CURRENCY = r"^[A-Z]{3}$"
AmenityCode = Annotated[str, Field(pattern=AMENITY_CODE.pattern)]


def _drop_nulls(schema: dict[str, Any], cls: type) -> None:
    """A patch field is left out to keep its value; null is accepted only where declared."""
    declare_no_nul(schema)
    nullable: frozenset[str] = getattr(cls, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        branches = [b for b in prop.get("anyOf", []) if b != {"type": "null"}]
        if name in nullable or len(branches) != 1 or "anyOf" not in prop:
            continue
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        schema["properties"][name] = {**branches[0], **rest}


class Patch(Body):
    """A partial update: a field left out is unchanged; null only where `nullable` allows."""

    nullable: ClassVar[frozenset[str]] = frozenset()
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_drop_nulls)

    @model_validator(mode="after")
    def _no_nulls(self) -> Patch:
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} cannot be null")
        return self


HHMM = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Interval = Annotated[list[HHMM], Field(min_length=2, max_length=2, description="[open, close]")]


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


class RefundTierIn(Body):
    hours_before: int = Field(ge=0, le=MAX_POLICY_HOURS)
    percent: int = Field(ge=0, le=100)


class BookingRulesIn(Body):
    granularity_minutes: int | None = Field(None, ge=1, le=1440)
    min_minutes: int | None = Field(None, ge=1, le=525_600)
    max_minutes: int | None = Field(None, ge=1, le=525_600)
    max_days_ahead: int | None = Field(None, ge=0, le=3650)
    check_in_early_minutes: int | None = Field(None, ge=0, le=1440)
    check_in_needs_presence: bool | None = Field(
        None, description="Members check in with the code the location's kiosk shows"
    )
    approval_hours: int | None = Field(
        None, ge=1, le=24 * 30, description="Managers decide a request within this long"
    )
    waitlist_offer_minutes: int | None = Field(
        None, ge=1, le=24 * 60, description="How long a waitlist offer holds the freed slot"
    )
    max_hours_per_week: int | None = Field(
        None, ge=0, le=168, description="Per member, local Monday-Sunday; 0 removes the limit"
    )
    max_concurrent_holds: int | None = Field(
        None, ge=0, le=1000, description="Per member, unpaid or unapproved; 0 removes the limit"
    )
    max_bookings_ahead: int | None = Field(
        None, ge=0, le=10_000, description="Per member, upcoming; 0 removes the limit"
    )


class LocationCreate(Body):
    name: str = Field(min_length=1, max_length=160)
    city: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=255)
    timezone: str = Field(min_length=1, max_length=64, description="IANA name, e.g. Europe/Rome")
    currency: str = Field("EUR", pattern=CURRENCY, description="ISO 4217, upper case")
    description: str = Field("", max_length=5000)
    floors: list[FloorIn] = Field(default_factory=list, max_length=50)
    opening_hours: HoursIn | None = Field(None, description="Default: Mon-Fri 08:00-20:00")
    cancellation_policy: list[RefundTierIn] | None = Field(
        None,
        max_length=20,
        description="Tiers, percent falling as the start nears; default 24h→100, 2h→50",
    )
    booking_rules: BookingRulesIn | None = None


class LocationPatch(Patch):
    name: str | None = Field(None, min_length=1, max_length=160)
    city: str | None = Field(None, min_length=1, max_length=120)
    address: str | None = Field(None, min_length=1, max_length=255)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    currency: str | None = Field(None, pattern=CURRENCY)
    description: str | None = Field(None, max_length=5000)
    floors: list[FloorIn] | None = Field(None, max_length=50)
    opening_hours: HoursIn | None = None
    cancellation_policy: list[RefundTierIn] | None = Field(None, max_length=20)
    booking_rules: BookingRulesIn | None = Field(None, description="Merged into current rules")
    active: bool | None = Field(None, description="Admins only")


class ClosureIn(Body):
    start_date: LocalDate = Field(description="First closed local day")
    end_date: LocalDate = Field(description="Last closed local day (inclusive)")
    reason: str = Field("", max_length=255)


_BEFORE = "Turnaround before each booking (set-up); applies to bookings made from now on"
_AFTER = "Turnaround after each booking (cleaning); applies to bookings made from now on"
_APPROVAL = "Requests wait for a manager's approval (pending_approval)"


class SpaceCreate(Body):
    name: str = Field(min_length=1, max_length=120)
    type: SpaceType
    capacity: int = Field(1, ge=1, le=10_000)
    hourly_price_cents: int = Field(0, ge=0, le=100_000_000)
    daily_price_cents: int | None = Field(None, ge=0, le=1_000_000_000)
    description: str = Field("", max_length=5000)
    floor: int = Field(0, ge=0, le=200)
    x: int = Field(0, ge=0, le=10_000)
    y: int = Field(0, ge=0, le=10_000)
    width: int = Field(1, ge=1, le=10_000)
    height: int = Field(1, ge=1, le=10_000)
    amenities: list[AmenityCode] = Field(default_factory=list, max_length=50)
    active: bool = True
    buffer_before_minutes: int = Field(0, ge=0, le=MAX_BUFFER_MINUTES, description=_BEFORE)
    buffer_after_minutes: int = Field(0, ge=0, le=MAX_BUFFER_MINUTES, description=_AFTER)
    requires_approval: bool = Field(False, description=_APPROVAL)


class SpacePatch(Patch):
    nullable = frozenset({"daily_price_cents"})

    name: str | None = Field(None, min_length=1, max_length=120)
    type: SpaceType | None = None
    capacity: int | None = Field(None, ge=1, le=10_000)
    hourly_price_cents: int | None = Field(None, ge=0, le=100_000_000)
    daily_price_cents: int | None = Field(None, ge=0, le=1_000_000_000)
    description: str | None = Field(None, max_length=5000)
    floor: int | None = Field(None, ge=0, le=200)
    x: int | None = Field(None, ge=0, le=10_000)
    y: int | None = Field(None, ge=0, le=10_000)
    width: int | None = Field(None, ge=1, le=10_000)
    height: int | None = Field(None, ge=1, le=10_000)
    amenities: list[AmenityCode] | None = Field(None, max_length=50)
    active: bool | None = None
    buffer_before_minutes: int | None = Field(
        None, ge=0, le=MAX_BUFFER_MINUTES, description=_BEFORE
    )
    buffer_after_minutes: int | None = Field(None, ge=0, le=MAX_BUFFER_MINUTES, description=_AFTER)
    requires_approval: bool | None = Field(None, description=_APPROVAL)


class AmenityIn(Body):
    code: AmenityCode = Field(description="lower_snake_case")
    name: str = Field(min_length=1, max_length=120)
