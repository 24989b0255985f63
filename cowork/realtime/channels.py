"""What a client can watch (a channel) and one event as it is delivered (a Delivery)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cowork.store.events import EVENT_VERSION


class ChannelKind(StrEnum):
    LOCATION = "location"
    SPACE = "space"
    USER = "user"


class ChannelError(ValueError):
    """A channel name this server does not know."""


@dataclass(frozen=True, slots=True)
class Channel:
    kind: ChannelKind
    id: int

    @property
    def filter_subject(self) -> str:
        """The JetStream subject filter holding exactly this channel's events."""
        match self.kind:
            case ChannelKind.LOCATION:
                return f"cowork.loc.{self.id}.>"
            case ChannelKind.SPACE:
                return f"cowork.loc.*.space.{self.id}.>"
            case ChannelKind.USER:
                return f"cowork.user.{self.id}.>"

    @property
    def name(self) -> str:
        return "me" if self.kind is ChannelKind.USER else f"{self.kind.value}:{self.id}"

    @property
    def is_personal(self) -> bool:
        return self.kind is ChannelKind.USER

    @classmethod
    def parse(cls, text: str, user_id: int | None) -> Channel:
        """`location:ID`, `space:ID` or `me` (needs user_id)."""
        if text == "me":
            if user_id is None:
                raise ChannelError("me")
            return cls(ChannelKind.USER, user_id)
        kind, _, raw_id = text.partition(":")
        if kind not in (ChannelKind.LOCATION, ChannelKind.SPACE) or not raw_id.isdigit():
            raise ChannelError(text)
        return cls(ChannelKind(kind), int(raw_id))


@dataclass(frozen=True, slots=True)
class Route:
    """Where a subject fans out to: its location and space, or its member."""

    location_id: int | None = None
    space_id: int | None = None
    user_id: int | None = None

    def channels(self) -> tuple[Channel, ...]:
        if self.user_id is not None:
            return (Channel(ChannelKind.USER, self.user_id),)
        out: list[Channel] = []
        if self.location_id is not None:
            out.append(Channel(ChannelKind.LOCATION, self.location_id))
        if self.space_id is not None:
            out.append(Channel(ChannelKind.SPACE, self.space_id))
        return tuple(out)


def route_of(subject: str) -> Route:
    """`cowork.loc.L.space.S.type` → location L, space S; `cowork.loc.L.location.type` →
    location L; `cowork.user.U.type` → member U."""
    tokens = subject.split(".")
    try:
        if tokens[1] == "loc" and tokens[3] == "space":
            return Route(location_id=int(tokens[2]), space_id=int(tokens[4]))
        if tokens[1] == "loc" and tokens[3] == "location":
            return Route(location_id=int(tokens[2]))
        if tokens[1] == "user":
            return Route(user_id=int(tokens[2]))
    except (IndexError, ValueError):
        pass
    return Route()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event ready to send: the envelope with its id, encoded once for every client."""

    id: int | None
    type: str
    envelope: dict[str, Any]
    json: str = field(repr=False)
    frame: bytes = field(repr=False)  # the SSE frame, the same on every channel

    @classmethod
    def from_envelope(cls, seq: int | None, envelope: dict[str, Any]) -> Delivery:
        full = {"id": seq, **envelope} if seq is not None else dict(envelope)
        kind = str(full.get("type", ""))
        text = json.dumps(full, separators=(",", ":"))
        head = f"id: {seq}\n" if seq is not None else ""
        return cls(seq, kind, full, text, f"{head}event: {kind}\ndata: {text}\n\n".encode())

    @classmethod
    def from_message(cls, seq: int, data: bytes) -> Delivery:
        return cls.from_envelope(seq, json.loads(data))


def local_event(
    event_type: str, at: str, location_id: int | None, space_id: int | None, data: dict[str, Any]
) -> Delivery:
    """A node-made event (presence, resync): not in the stream, so it carries no id."""
    return Delivery.from_envelope(
        None,
        {
            "type": event_type,
            "v": EVENT_VERSION,
            "at": at,
            "location_id": location_id,
            "space_id": space_id,
            "data": data,
        },
    )
