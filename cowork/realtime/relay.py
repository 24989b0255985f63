"""The outbox relay: committed outbox rows → JetStream, in id order, once each in the stream.

One relay publishes at a time cluster-wide (a transaction-scoped advisory lock), so rows reach
the stream in id order and per-space order holds however many nodes run. A row is marked only
after JetStream acknowledged it; a crash in between re-publishes it, and the `Nats-Msg-Id`
header makes the stream drop the copy. NATS down → rows wait; the relay retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from nats.js.errors import NoStreamResponseError
from tortoise.transactions import in_transaction

from cowork.config import Settings
from cowork.metrics import Metrics
from cowork.realtime.bus import Bus
from cowork.realtime.stream import STREAM, ensure_stream
from cowork.store.db import db
from cowork.store.events import EVENT_VERSION
from cowork.tasks import Worker

log = logging.getLogger("cowork.realtime.relay")

# pg_try_advisory_xact_lock key shared by every node's relay ("cowork" + 1 in hex).
RELAY_LOCK_KEY = 0x636F776F726B01
MAX_BACKOFF = 5.0
# A node that lost the lock to another relay looks again soon: that relay may have finished
# its last batch just before our row committed.
CONTENDED_RETRY = 0.05
PUBLISH_TIMEOUT = 2.0
FINAL_DRAIN_SECONDS = 3.0

_SELECT = (
    "SELECT id, subject, type, location_id, space_id, payload, created_at FROM outbox "
    "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_MARK = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
_LAG = (
    "SELECT EXTRACT(EPOCH FROM now() - created_at)::float8 AS lag FROM outbox "
    "WHERE published_at IS NULL ORDER BY id LIMIT 1"
)
# The database's identity scopes message ids: outbox ids restart in a new or restored database,
# and a stream shared with it must not drop those events as duplicates of older ones.
_ORIGIN = "SELECT oid::bigint AS oid FROM pg_database WHERE datname = current_database()"


class RelayUnavailableError(Exception):
    """NATS is not connected; rows stay in the outbox."""


def envelope(row: Any) -> dict[str, Any]:
    """The event body published to JetStream (the stream sequence becomes its id)."""
    payload = row["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    return {
        "type": row["type"],
        "v": EVENT_VERSION,
        "at": row["created_at"].isoformat(),
        "location_id": row["location_id"],
        "space_id": row["space_id"],
        "data": payload,
    }


class OutboxRelay(Worker):
    name = "outbox-relay"

    def __init__(self, bus: Bus, settings: Settings, metrics: Metrics) -> None:
        super().__init__()
        self._bus = bus
        self._settings = settings
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._reconnected = asyncio.Event()
        self._origin: str | None = None
        self.published = 0

    def wake(self) -> None:
        """A transaction with outbox rows committed: publish soon. Never blocks."""
        self._wake.set()

    def reconnected(self) -> None:
        """NATS is back: end any backoff now."""
        self._reconnected.set()
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while True:
            self._wake.clear()
            self._reconnected.clear()
            delay = self._settings.outbox_poll_seconds
            try:
                contended = await self.drain()
                if backoff:
                    log.info("outbox relay publishing again")
                backoff = 0.0
                if contended:
                    delay = CONTENDED_RETRY
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (NATS or the database is away: back off)
                if not backoff:
                    log.warning("outbox relay paused: %s", exc or type(exc).__name__)
                backoff = min(MAX_BACKOFF, max(0.1, backoff * 2))
                delay = backoff
            await self._measure_lag()
            # While backing off only a reconnect cuts the wait short, not every commit's wake.
            signal = self._reconnected if backoff else self._wake
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await signal.wait()

    async def final_drain(self) -> None:
        """At stop: publish what this node committed last (bounded; any rest waits in the
        outbox for another node's relay)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(FINAL_DRAIN_SECONDS):
                await self.drain()

    async def drain(self) -> bool:
        """Publish until the outbox is empty; True if another node's relay held the lock."""
        while True:
            outcome = await self._publish_batch()
            if outcome is None:
                return True
            if outcome == 0:
                return False

    async def _publish_batch(self) -> int | None:
        if not self._bus.is_connected:
            raise RelayUnavailableError("nats is not connected")
        origin = await self._origin_id()
        async with in_transaction() as conn:
            _, locked = await conn.execute_query(
                "SELECT pg_try_advisory_xact_lock($1) AS ok", [RELAY_LOCK_KEY]
            )
            if not locked[0]["ok"]:
                return None
            _, rows = await conn.execute_query(_SELECT, [self._settings.relay_batch_size])
            done: list[int] = []
            failure: Exception | None = None
            for row in rows:
                try:
                    await self._publish(row, origin)
                except Exception as exc:  # noqa: BLE001 (re-raised after the commit below)
                    # Stop at the first failure: publishing later rows first would reorder them.
                    failure = exc
                    break
                done.append(row["id"])
            if done:
                await conn.execute_query(_MARK, [done])
        self.published += len(done)
        if failure is not None:
            if isinstance(failure, NoStreamResponseError):
                await ensure_stream(self._bus.js, self._settings)
            raise failure
        return len(done)

    async def _publish(self, row: Any, origin: str) -> None:
        body = json.dumps(envelope(row), separators=(",", ":")).encode()
        ack = await self._bus.js.publish(
            row["subject"],
            body,
            timeout=PUBLISH_TIMEOUT,
            stream=STREAM,
            headers={"Nats-Msg-Id": f"{origin}-{row['id']}"},
        )
        if ack.duplicate:
            log.info("outbox row %s was already in the stream (seq %s)", row["id"], ack.seq)

    async def _origin_id(self) -> str:
        if self._origin is None:
            _, rows = await db().execute_query(_ORIGIN)
            self._origin = str(rows[0]["oid"])
        return self._origin

    async def _measure_lag(self) -> None:
        try:
            _, rows = await db().execute_query(_LAG)
        except Exception:  # noqa: BLE001 (a metric must never stop the relay)
            return
        self._metrics.outbox_lag.set(float(rows[0]["lag"]) if rows else 0.0)
