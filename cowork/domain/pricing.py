"""Prices in integer cents: hourly rate, capped per local day by the daily rate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cowork.domain.errors import InvalidMoneyError, InvalidPriceError
from cowork.domain.schedule import local_days
from cowork.domain.slots import Slot

_MICROS_PER_HOUR = 3600 * 1_000_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Money:
    amount_cents: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise InvalidMoneyError("amount must be integer cents")
        if not _CURRENCY.match(self.currency):
            raise InvalidMoneyError(
                "currency must be a 3-letter upper-case code", currency=self.currency
            )


def _check_prices(hourly_cents: int, daily_cents: int | None) -> None:
    if hourly_cents < 0 or (daily_cents is not None and daily_cents < 0):
        raise InvalidPriceError(
            "prices must not be negative", hourly_cents=hourly_cents, daily_cents=daily_cents
        )


def is_free(hourly_cents: int, daily_cents: int | None) -> bool:
    """A space is free when every slot prices at 0: no hourly rate, or a daily cap of 0."""
    _check_prices(hourly_cents, daily_cents)
    return hourly_cents == 0 or daily_cents == 0


def split_at_local_midnights(slot: Slot, tz: ZoneInfo) -> list[Slot]:
    """Cut the slot at each local midnight it crosses; pieces are in order and touch."""
    pieces: list[Slot] = []
    for day in local_days(slot, tz):
        next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
        piece_end = min(slot.end, next_midnight.astimezone(UTC))
        piece_start = pieces[-1].end if pieces else slot.start
        if piece_start < piece_end:
            pieces.append(Slot(piece_start, piece_end))
    return pieces


def _hourly_piece_cents(hourly_cents: int, elapsed: timedelta) -> int:
    micros = elapsed // timedelta(microseconds=1)
    # round half up of hourly * micros / micros_per_hour, integers only
    return (2 * hourly_cents * micros + _MICROS_PER_HOUR) // (2 * _MICROS_PER_HOUR)


def price_cents(slot: Slot, *, tz: ZoneInfo, hourly_cents: int, daily_cents: int | None) -> int:
    """Sum over local-day pieces of min(hourly rate x real elapsed hours, daily cap)."""
    _check_prices(hourly_cents, daily_cents)
    total = 0
    for piece in split_at_local_midnights(slot, tz):
        cost = _hourly_piece_cents(hourly_cents, piece.duration)
        total += cost if daily_cents is None else min(cost, daily_cents)
    return total
