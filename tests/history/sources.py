"""What the checker compares a history with: the database's rows and the JetStream stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from cowork.realtime.relay import envelope

LIVE = ("held", "confirmed", "checked_in")
ENDS_LIFE = ("booking.expired", "booking.cancelled", "booking.no_show", "booking.completed")


@dataclass(frozen=True)
class BookingFact:
    id: int
    space_id: int
    location_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    price_cents: int
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class OutboxFact:
    id: int
    subject: str
    type: str
    location_id: int | None
    space_id: int | None
    booking_id: int | None
    created_at: datetime
    published: bool
    payload: dict[str, Any]

    @property
    def identity(self) -> str:
        """The subject and body the relay publishes for this row (see `envelope`)."""
        body = envelope(
            {
                "type": self.type,
                "payload": self.payload,
                "created_at": self.created_at,
                "location_id": self.location_id,
                "space_id": self.space_id,
            }
        )
        return identity(self.subject, body)


@dataclass(frozen=True)
class StreamMessage:
    seq: int
    subject: str
    msg_id: str | None
    type: str
    booking_id: int | None
    space_id: int | None
    identity: str  # subject and body: two messages alike are one event published twice


def identity(subject: str, body: dict[str, Any]) -> str:
    return f"{subject} {json.dumps(body, sort_keys=True)}"


async def bookings(db: asyncpg.Connection, location_ids: list[int]) -> dict[int, BookingFact]:
    rows = await db.fetch(
        "SELECT id, space_id, location_id, user_id, starts_at, ends_at, status, price_cents, "
        "expires_at, created_at FROM bookings WHERE location_id = ANY($1::int[])",
        location_ids,
    )
    return {r["id"]: BookingFact(**dict(r)) for r in rows}


async def overlapping_pairs(db: asyncpg.Connection, location_ids: list[int]) -> list[Any]:
    """Pairs of live bookings of one space whose ranges overlap (the constraint's job)."""
    return await db.fetch(
        "SELECT a.id AS a, b.id AS b, a.space_id FROM bookings a JOIN bookings b "
        "ON a.space_id = b.space_id AND a.id < b.id "
        "AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)') "
        "WHERE a.location_id = ANY($1::int[]) AND a.status = ANY($2::text[]) "
        "AND b.status = ANY($2::text[])",
        location_ids,
        list(LIVE),
    )


async def public_outbox(db: asyncpg.Connection, location_ids: list[int]) -> list[OutboxFact]:
    """The public outbox rows (one per change; personal copies have a user_id)."""
    rows = await db.fetch(
        "SELECT id, subject, type, location_id, space_id, payload, created_at, "
        "published_at IS NOT NULL AS published "
        "FROM outbox WHERE location_id = ANY($1::int[]) AND user_id IS NULL ORDER BY id",
        location_ids,
    )
    facts = []
    for r in rows:
        payload = r["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        facts.append(
            OutboxFact(
                r["id"],
                r["subject"],
                r["type"],
                r["location_id"],
                r["space_id"],
                payload.get("booking_id"),
                r["created_at"],
                r["published"],
                payload,
            )
        )
    return facts


async def unpublished(db: asyncpg.Connection, location_ids: list[int]) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE location_id = ANY($1::int[]) "
            "AND published_at IS NULL",
            location_ids,
        )
    )


async def origin(db: asyncpg.Connection) -> str:
    """The prefix the relay puts before outbox ids in Nats-Msg-Id (the database's oid)."""
    oid = await db.fetchval(
        "SELECT oid::bigint FROM pg_database WHERE datname = current_database()"
    )
    return str(oid)


async def stream_messages(nats_url: str, location_ids: list[int]) -> list[StreamMessage]:
    """Every message JetStream holds for these locations' public subjects, in stream order."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=2)
    found: list[StreamMessage] = []
    try:
        js = nc.jetstream()
        for location_id in location_ids:
            found += await _read_subject(js, f"cowork.loc.{location_id}.>")
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    return sorted(found, key=lambda m: m.seq)


async def _read_subject(js: Any, subject: str) -> list[StreamMessage]:
    sub = await js.subscribe(
        subject,
        stream="COWORK",
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    out: list[StreamMessage] = []
    try:
        info = await sub.consumer_info()
        total = int(info.num_pending or 0) + int(info.delivered.consumer_seq or 0)
        while len(out) < total:
            msg = await sub.next_msg(timeout=10)
            body = json.loads(msg.data)
            data = body.get("data") or {}
            out.append(
                StreamMessage(
                    msg.metadata.sequence.stream,
                    msg.subject,
                    (msg.headers or {}).get("Nats-Msg-Id"),
                    body.get("type", ""),
                    data.get("booking_id"),
                    body.get("space_id"),
                    identity(msg.subject, body),
                )
            )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sub.unsubscribe(), 5)
    return out
