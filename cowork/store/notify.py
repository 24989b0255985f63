"""Members' push devices and notification preferences, and what rendering needs to know."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.notifications import DEFAULT_PREFERENCES, Kind, Preferences, QuietHours
from cowork.store.db import db

_DEVICE_COLUMNS = (
    "id, user_id, kind, address, p256dh, auth, topic, locale, created_at, updated_at, "
    "last_success_at"
)


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    user_id: int
    kind: str
    address: str
    p256dh: str | None
    auth: str | None
    topic: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None

    @classmethod
    def from_record(cls, record: Any) -> DeviceRow:
        return cls(**{f.name: record[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class NewDevice:
    kind: str
    address: str
    p256dh: str | None = None
    auth: str | None = None
    topic: str | None = None
    locale: str | None = None


_UPSERT = f"""
INSERT INTO push_devices (user_id, kind, address, p256dh, auth, topic, locale)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (kind, address) DO UPDATE SET
    user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
    topic = EXCLUDED.topic, locale = COALESCE(EXCLUDED.locale, push_devices.locale),
    updated_at = now()
RETURNING {_DEVICE_COLUMNS}, (xmax = 0) AS inserted
"""


async def upsert_device(
    conn: BaseDBAsyncClient, user_id: int, device: NewDevice
) -> tuple[DeviceRow, bool]:
    """Insert the device, or update the row with the same endpoint/token; (row, inserted)."""
    rows = await conn.execute_query_dict(
        _UPSERT,
        [
            user_id,
            device.kind,
            device.address,
            device.p256dh,
            device.auth,
            device.topic,
            device.locale,
        ],
    )
    return DeviceRow.from_record(rows[0]), bool(rows[0]["inserted"])


async def delete_device(conn: BaseDBAsyncClient, user_id: int, device_id: int) -> DeviceRow | None:
    rows = await conn.execute_query_dict(
        f"DELETE FROM push_devices WHERE id = $1 AND user_id = $2 RETURNING {_DEVICE_COLUMNS}",
        [device_id, user_id],
    )
    return DeviceRow.from_record(rows[0]) if rows else None


async def forget_device(device_id: int) -> bool:
    """The push service said the device is gone (404/410/unregistered)."""
    rows = await db().execute_query_dict(
        "DELETE FROM push_devices WHERE id = $1 RETURNING id", [device_id]
    )
    return bool(rows)


async def get_device(device_id: int) -> DeviceRow | None:
    rows = await db().execute_query_dict(
        f"SELECT {_DEVICE_COLUMNS} FROM push_devices WHERE id = $1", [device_id]
    )
    return DeviceRow.from_record(rows[0]) if rows else None


async def list_devices(user_id: int, *, after: int | None, limit: int) -> list[DeviceRow]:
    rows = await db().execute_query_dict(
        f"SELECT {_DEVICE_COLUMNS} FROM push_devices WHERE user_id = $1 AND id > $2 "
        "ORDER BY id LIMIT $3",
        [user_id, after or 0, limit],
    )
    return [DeviceRow.from_record(r) for r in rows]


# -- preferences -----------------------------------------------------------------------------

_PREF_COLUMNS = (
    "push_kinds, email_kinds, reminder_lead_minutes, quiet_start, quiet_end, timezone, "
    "locale, urgent_during_quiet_hours"
)


_KIND_VALUES = frozenset(k.value for k in Kind)


def _kinds(raw: Any) -> frozenset[Kind]:
    values = json.loads(raw) if isinstance(raw, str) else raw
    # A kind a newer release wrote and this one does not know is ignored, not an error.
    return frozenset(Kind(v) for v in values if v in _KIND_VALUES)


def preferences_from(record: Any) -> Preferences:
    quiet = None
    if record["quiet_start"] is not None and record["quiet_end"] is not None:
        quiet = QuietHours(record["quiet_start"], record["quiet_end"])
    return Preferences(
        push=_kinds(record["push_kinds"]),
        email=_kinds(record["email_kinds"]),
        reminder_lead_minutes=record["reminder_lead_minutes"],
        quiet_hours=quiet,
        timezone=record["timezone"],
        urgent_during_quiet_hours=record["urgent_during_quiet_hours"],
        locale=record["locale"],
    )


async def get_preferences(user_id: int, conn: BaseDBAsyncClient | None = None) -> Preferences:
    rows = await (conn or db()).execute_query_dict(
        f"SELECT {_PREF_COLUMNS} FROM notification_preferences WHERE user_id = $1", [user_id]
    )
    return preferences_from(rows[0]) if rows else DEFAULT_PREFERENCES


async def put_preferences(conn: BaseDBAsyncClient, user_id: int, prefs: Preferences) -> None:
    quiet = prefs.quiet_hours
    await conn.execute_query(
        f"INSERT INTO notification_preferences (user_id, {_PREF_COLUMNS}) "
        "VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (user_id) DO UPDATE SET push_kinds = EXCLUDED.push_kinds, "
        "email_kinds = EXCLUDED.email_kinds, "
        "reminder_lead_minutes = EXCLUDED.reminder_lead_minutes, "
        "quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, "
        "timezone = EXCLUDED.timezone, locale = EXCLUDED.locale, "
        "urgent_during_quiet_hours = EXCLUDED.urgent_during_quiet_hours, updated_at = now()",
        [
            user_id,
            json.dumps(sorted(prefs.push)),
            json.dumps(sorted(prefs.email)),
            prefs.reminder_lead_minutes,
            quiet.start if quiet else None,
            quiet.end if quiet else None,
            prefs.timezone,
            prefs.locale,
            prefs.urgent_during_quiet_hours,
        ],
    )


# -- what the worker reads -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    email: str
    name: str
    active: bool
    prefs: Preferences
    devices: tuple[DeviceRow, ...]


async def recipient(user_id: int) -> Recipient | None:
    """A member, their preferences and devices (one round trip): whom an event reaches, how."""
    rows = await db().execute_query_dict(
        f"SELECT u.email, u.name, u.is_active, p.user_id AS has_prefs, {_PREF_COLUMNS}, "
        f"ARRAY(SELECT ROW({_DEVICE_COLUMNS}) FROM push_devices WHERE user_id = u.id "
        "ORDER BY id) AS devices "
        "FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1",
        [user_id],
    )
    if not rows:
        return None
    row = rows[0]
    prefs = preferences_from(row) if row["has_prefs"] is not None else DEFAULT_PREFERENCES
    return Recipient(
        user_id,
        row["email"],
        row["name"],
        row["is_active"],
        prefs,
        tuple(DeviceRow(*d) for d in row["devices"]),
    )


@dataclass(frozen=True, slots=True)
class Place:
    """Where a booking is: what a message names, and the zone its times are shown in."""

    space_name: str
    location_name: str
    address: str
    city: str
    timezone: str


async def place(space_id: int | None, location_id: int | None) -> Place | None:
    rows = await db().execute_query_dict(
        "SELECT COALESCE(s.name, '') AS space_name, l.name AS location_name, l.address, "
        "l.city, l.timezone FROM locations l LEFT JOIN spaces s ON s.id = $1 AND "
        "s.location_id = l.id WHERE l.id = $2",
        [space_id, location_id],
    )
    if not rows:
        return None
    r = rows[0]
    return Place(r["space_name"], r["location_name"], r["address"], r["city"], r["timezone"])
