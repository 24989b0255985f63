"""The resume rule shared by SSE and websocket: live first, replay, then the live buffer.

The subscriber is registered (buffering) before the replay starts, so every event newer than
the replay is already buffered; going live writes that buffer, skipping ids the replay (or a
resync) covered, and from then on the hub writes to the client directly. No gap, no duplicate.
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


Item = Delivery | Resync


async def catch_up(hub: Hub, sub: Subscriber, after: int | None) -> AsyncIterator[Item]:
    """Yield what the client missed after `after` (None: nothing), then make `sub` live.

    The caller sends each item before asking for the next; once this ends, the hub writes the
    channel's events to the client itself. Stops early when the subscriber is closed.
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
                    if sub.closed:
                        return
                    assert delivery.id is not None
                    floor = delivery.id
                    yield delivery
            except ReplayTooLongError:
                floor = start.head
                yield Resync(start.head)
    if not sub.closed:
        sub.go_live(floor)


def parse_event_id(raw: str | None) -> int | None:
    """A Last-Event-ID value, or None when absent or not ours (then the client gets live only)."""
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None
