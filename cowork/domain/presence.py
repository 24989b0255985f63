"""Proof of presence for check-in: a code only someone standing at the kiosk can read.

Two short codes, both HMACs of the node's secret, so every node computes the same without
storing anything:
- the **location code** a kiosk shows (digits and a QR), rotating every `WINDOW_SECONDS`; a
  member's own check-in submits it where the location asks for presence;
- the **booking PIN** its member reads in their booking, typed on the kiosk to check in there.
A kiosk alone (which sees booking ids on its board) can no longer check anyone in.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from cowork.domain.errors import DomainError
from cowork.domain.problems import Problem
from cowork.domain.slots import to_utc

WINDOW_SECONDS = 30
DIGITS = 6


class PresenceCodeError(DomainError):
    problem = Problem.PRESENCE_REQUIRED


def _digits(key: bytes, message: str) -> str:
    mac = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10**DIGITS).zfill(DIGITS)


def _window(now: datetime) -> int:
    return int(to_utc(now, "now").timestamp()) // WINDOW_SECONDS


def location_code(key: bytes, location_id: int, now: datetime) -> tuple[str, datetime]:
    """The code a kiosk of the location shows now, and when it rotates."""
    window = _window(now)
    rotates = datetime.fromtimestamp((window + 1) * WINDOW_SECONDS, to_utc(now, "now").tzinfo)
    return _digits(key, f"presence:{location_id}:{window}"), rotates


def ensure_location_code(key: bytes, location_id: int, code: str | None, now: datetime) -> None:
    """Accept the current code or the one before it (a member may be mid-typing a rotation)."""
    window = _window(now)
    expected = [_digits(key, f"presence:{location_id}:{w}") for w in (window, window - 1)]
    if code is None or not any(hmac.compare_digest(code, e) for e in expected):
        raise PresenceCodeError("Check in at the space: type or scan the code its kiosk shows.")


def booking_pin(key: bytes, booking_id: int) -> str:
    """The PIN a member types on a kiosk to check their booking in there."""
    return _digits(key, f"pin:{booking_id}")


def ensure_booking_pin(key: bytes, booking_id: int, pin: str | None) -> None:
    if pin is None or not hmac.compare_digest(pin, booking_pin(key, booking_id)):
        raise PresenceCodeError("Type the check-in PIN shown with your booking.")
