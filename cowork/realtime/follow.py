"""The resume rule shared by SSE and websocket: live first, replay, then the live buffer.

The subscriber is registered before the replay starts, so every event newer than the replay
is already in its queue; draining that queue skips ids the replay (or a resync) covered. No
gap, no duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from cowork.realtime.channels import Delivery
from cowork.realtime.hub import Hub, ReplayTooLongError, Subscriber


@dataclass(frozen=True, slots=True)
class Resync:
    """Events after the client's last id are gone: refetch the snapshot, continue after `head`."""

    head: int


Item = Delivery | Resync | None  # None: nothing for a heartbeat interval


async def follow(
    hub: Hub, sub: Subscriber, after: int | None, heartbeat: float
) -> AsyncIterator[Item]:
    """Yield the channel's events after `after` (None: live only); ends when sub is closed.

    Raises SubscriberGoneError when the subscriber overflowed or the node stops.
    """
    floor = 0
    if after is not None:
        start = await hub.replay_start(after)
        floor = start.head
        if start.resync:
            yield Resync(start.head)
        else:
            floor = after
            try:
                async for delivery in hub.replay(sub.channel, after):
                    assert delivery.id is not None
                    floor = delivery.id
                    yield delivery
            except ReplayTooLongError:
                floor = start.head
                yield Resync(start.head)
    while True:
        item = await sub.next(heartbeat)
        if item is not None and item.id is not None and item.id <= floor:
            continue
        yield item


def parse_event_id(raw: str | None) -> int | None:
    """A Last-Event-ID value, or None when absent or not ours (then the client gets live only)."""
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None
