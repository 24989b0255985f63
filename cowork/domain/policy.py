"""Cancellation policy: refund percent by hours before start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cowork.domain.errors import InvalidInputError, InvalidPolicyError
from cowork.domain.slots import to_utc


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class RefundTier:
    hours_before: int
    percent: int

    def __post_init__(self) -> None:
        if not (_is_int(self.hours_before) and _is_int(self.percent)):
            raise InvalidPolicyError("hours_before and percent must be integers")
        if self.hours_before < 0:
            raise InvalidPolicyError("hours_before must be >= 0", hours_before=self.hours_before)
        if not 0 <= self.percent <= 100:
            raise InvalidPolicyError("percent must be 0..100", percent=self.percent)


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Tiers sorted by hours_before, highest first; hours_before values are unique."""

    tiers: tuple[RefundTier, ...]

    def __post_init__(self) -> None:
        hours = [t.hours_before for t in self.tiers]
        if len(set(hours)) != len(hours):
            raise InvalidPolicyError("two tiers share the same hours_before")
        ordered = tuple(sorted(self.tiers, key=lambda t: t.hours_before, reverse=True))
        object.__setattr__(self, "tiers", ordered)

    @classmethod
    def from_list(cls, data: Sequence[Mapping[str, object]]) -> CancellationPolicy:
        """Build from [{"hours_before": 24, "percent": 100}, ...]."""
        tiers: list[RefundTier] = []
        for item in data:
            if not isinstance(item, Mapping) or set(item) != {"hours_before", "percent"}:
                raise InvalidPolicyError("each tier is {hours_before, percent}")
            hours, percent = item["hours_before"], item["percent"]
            if not (isinstance(hours, int) and isinstance(percent, int)):
                raise InvalidPolicyError("hours_before and percent must be integers")
            tiers.append(RefundTier(hours, percent))
        return cls(tuple(tiers))

    def to_list(self) -> list[dict[str, int]]:
        """Tiers as plain dicts, highest hours_before first."""
        return [{"hours_before": t.hours_before, "percent": t.percent} for t in self.tiers]


DEFAULT_POLICY = CancellationPolicy((RefundTier(24, 100), RefundTier(2, 50)))


def refund_percent(policy: CancellationPolicy, *, starts_at: datetime, now: datetime) -> int:
    """Percent of the first tier (highest hours first) whose hours fit before start; else 0."""
    until = to_utc(starts_at, "starts_at") - to_utc(now, "now")
    if until <= timedelta(0):
        return 0
    for tier in policy.tiers:
        if until >= timedelta(hours=tier.hours_before):
            return tier.percent
    return 0


def refund_amount(paid_cents: int, percent: int) -> int:
    """`percent` of what was paid, rounded down to the cent (the member never gets more)."""
    if paid_cents < 0:
        raise InvalidInputError("paid amount must not be negative", paid_cents=paid_cents)
    return paid_cents * percent // 100


def refund_cents(
    paid_cents: int, policy: CancellationPolicy, *, starts_at: datetime, now: datetime
) -> int:
    """What a member's own cancellation gives back under `policy`."""
    return refund_amount(paid_cents, refund_percent(policy, starts_at=starts_at, now=now))


class ChosenReason(StrEnum):
    """A reason a member or staff may give for a cancellation (free text goes in a note)."""

    CHANGE_OF_PLANS = "change_of_plans"
    BOOKED_BY_MISTAKE = "booked_by_mistake"
    FOUND_ANOTHER_SPACE = "found_another_space"
    SPACE_UNAVAILABLE = "space_unavailable"
    OTHER = "other"


class SystemReason(StrEnum):
    """Reasons only the system records; a client can never set them."""

    CANCELLED_BY_MEMBER = "cancelled_by_member"
    CANCELLED_BY_STAFF = "cancelled_by_staff"
    PAYMENT_FAILED = "payment_failed"
    SLOT_LOST = "slot_lost"
    PAYMENT_MISMATCH = "payment_mismatch"
    DECLINED_BY_STAFF = "declined_by_staff"  # a manager declined the request
    APPROVAL_LAPSED = "approval_lapsed"  # nobody decided before the request's deadline
    OFFER_DECLINED = "offer_declined"  # the member left the waitlist with an offer open


CANCEL_NOTE_MAX = 200


def cancel_reason(given: str | None, *, by_staff: bool) -> str:
    """The reason a cancellation is recorded with: the one given, else who cancelled."""
    return given or (
        SystemReason.CANCELLED_BY_STAFF if by_staff else SystemReason.CANCELLED_BY_MEMBER
    )


def cancellation_percent(
    policy: CancellationPolicy, *, starts_at: datetime, now: datetime, by_staff: bool
) -> int:
    """The share of the payment a cancellation refunds: the policy's tier for the member's
    own cancellation; everything when staff cancel (that never penalises the member)."""
    return 100 if by_staff else refund_percent(policy, starts_at=starts_at, now=now)
