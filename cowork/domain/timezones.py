"""IANA time zone lookup with a domain error instead of a stdlib one."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cowork.domain.errors import InvalidTimezoneError


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`; unknown or malformed names raise InvalidTimezoneError."""
    if not name or name != name.strip():
        raise InvalidTimezoneError(f"unknown time zone {name!r}", timezone=name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidTimezoneError(f"unknown time zone {name!r}", timezone=name) from None
