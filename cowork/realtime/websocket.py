"""One websocket connection: JSON messages in, events of its subscribed channels out.

Client → server: `auth {token}` (stream token or kiosk token), `subscribe {channel,
last_event_id?}`, `unsubscribe {channel}`, `ping`, `check_in {booking_id}` (kiosk).
Server → client: `auth_ok`, `subscribed`, `unsubscribed`, `pong`, `event {channel, event}`,
`resync {channel, id}`, `checked_in {booking}`, `error {code, detail}`. Any message may carry
`ref`; the reply echoes it. A kiosk's `check_in` carries the PIN its member typed (`pin`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from nats.errors import Error as NatsError
from websockets.exceptions import ConnectionClosed

from cowork.accounts.epochs import UserStates, current_principal
from cowork.accounts.tokens import Principal, TokenKind, verify
from cowork.actions import kiosks as kiosk_actions
from cowork.actions.effects import Effects
from cowork.actors.kiosk import check_in_by_kiosk
from cowork.actors.registry import ActorRegistry
from cowork.config import Settings
from cowork.domain.errors import DomainError
from cowork.metrics import Metrics
from cowork.realtime.channels import Channel, ChannelError, ChannelKind
from cowork.realtime.delivery import Transport, TransportSink, Wire, ws_event
from cowork.realtime.follow import Resync, catch_up
from cowork.realtime.hub import Hub, Subscriber
from cowork.realtime.rights import StreamRight
from cowork.store import kiosks
from cowork.store.models import Location, Space

log = logging.getLogger("cowork.realtime.websocket")

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN = 1013
CLOSE_KIOSK_REVOKED = 4003


class Socket(Protocol):
    """The server side of one websocket (Sanic's implementation satisfies it)."""

    async def recv(self) -> str | bytes | None: ...
    async def send(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class WebsocketSession:
    def __init__(
        self,
        ws: Socket,
        *,
        hub: Hub,
        settings: Settings,
        metrics: Metrics,
        registry: ActorRegistry,
        fx: Effects,
        users: UserStates,
        transport: Transport,
    ) -> None:
        self._fx = fx
        self._users = users
        self._right: StreamRight | None = None
        self.ws = ws
        self.hub = hub
        self.settings = settings
        self._metrics = metrics
        self._registry = registry
        self._transport = transport  # the hub writes event frames straight to it
        self.principal: Principal | None = None
        self.kiosk_id: int | None = None
        self.kiosk_location_id: int | None = None
        self._subs: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        gauge = self._metrics.connections.labels("ws")
        gauge.inc()
        watchdog = asyncio.create_task(self._watch_kiosk(), name="ws-kiosk-watch")
        try:
            while True:
                raw = await self.ws.recv()
                if raw is None:
                    break
                await self._handle(raw)
        except ConnectionClosed:
            pass
        finally:
            gauge.dec()
            if self._right is not None:
                self._right.release()
            tasks = [watchdog]
            for sub, task in self._subs.values():
                self.hub.unsubscribe(sub)
                tasks.append(task)
            self._subs.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        async with self._send_lock:
            await self.ws.send(text)

    async def error(self, code: str, detail: str, ref: object = None, **extra: Any) -> None:
        body: dict[str, Any] = {"type": "error", "code": code, "detail": detail, **extra}
        if ref is not None:
            body["ref"] = ref
        await self.send(body)

    async def _handle(self, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            await self.error("malformed_json", "Messages are JSON objects.")
            return
        if not isinstance(msg, dict):
            await self.error("malformed_json", "Messages are JSON objects.")
            return
        ref = msg.get("ref")
        match msg.get("type"):
            case "ping":
                await self.send(_with_ref({"type": "pong"}, ref))
            case "auth":
                await self._auth(msg, ref)
            case "subscribe":
                await self._subscribe(msg, ref)
            case "unsubscribe":
                await self._unsubscribe(msg, ref)
            case "check_in":
                await self._check_in(msg, ref)
            case other:
                await self.error("unknown_type", f"Unknown message type {other!r}.", ref)

    async def _auth(self, msg: dict[str, Any], ref: object) -> None:
        token = msg.get("token")
        if not isinstance(token, str) or not token:
            await self.error("unauthorized", "Send a stream token or a kiosk token.", ref)
            return
        if token.count(".") == 2:  # a JWT: only stream tokens open a socket
            try:
                claimed = verify(self.settings.jwt_secret, token, TokenKind.STREAM)
                self.principal = await current_principal(self._users, claimed)
            except DomainError as exc:
                await self.error(exc.code, "The stream token is not valid.", ref)
                return
            if self._right is not None:
                self._right.release()
            self._right = StreamRight(self._users, self.principal, self._fx.clock, self._lose_right)
            await self.send(_with_ref({"type": "auth_ok", "as": "member"}, ref))
            return
        kiosk = await kiosks.kiosk_for_token(token)
        if kiosk is None:
            await self.error("unauthorized", "Unknown or revoked kiosk token.", ref)
            return
        self.kiosk_id = kiosk.id
        self.kiosk_location_id = kiosk.location_id  # type: ignore[attr-defined]
        await kiosk_actions.kiosk_seen(self._fx, kiosk.id)
        await self.send(_with_ref({"type": "auth_ok", "as": "kiosk"}, ref))

    async def _subscribe(self, msg: dict[str, Any], ref: object) -> None:
        name = msg.get("channel")
        user_id = self.principal.user_id if self.principal else None
        try:
            channel = Channel.parse(name if isinstance(name, str) else "", user_id)
        except ChannelError:
            if name == "me":
                await self.error("unauthorized", "`me` needs auth with a stream token.", ref)
            else:
                await self.error("invalid_channel", "Use location:ID, space:ID or me.", ref)
            return
        if channel.name in self._subs:
            await self.error("already_subscribed", f"Already on {channel.name}.", ref)
            return
        if len(self._subs) >= self.settings.ws_max_channels:
            limit = self.settings.ws_max_channels
            await self.error("too_many_channels", f"At most {limit} channels per socket.", ref)
            return
        if not await _exists(channel):
            await self.error("not_found", f"No such {channel.kind.value}.", ref)
            return
        raw_after = msg.get("last_event_id")
        after = raw_after if isinstance(raw_after, int) and raw_after >= 0 else None
        sink = TransportSink(self._transport, Wire.WS, self.settings.client_buffer_bytes)
        sub = self.hub.subscribe(channel, sink)
        await self.send(_with_ref({"type": "subscribed", "channel": channel.name}, ref))
        task = asyncio.create_task(self._forward(sub, after), name=f"ws-forward:{channel.name}")
        self._subs[channel.name] = (sub, task)

    async def _unsubscribe(self, msg: dict[str, Any], ref: object) -> None:
        name = msg.get("channel")
        entry = self._subs.pop(name, None) if isinstance(name, str) else None
        if entry is None:
            await self.error("not_subscribed", f"Not subscribed to {name!r}.", ref)
            return
        sub, task = entry
        self.hub.unsubscribe(sub)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.send(_with_ref({"type": "unsubscribed", "channel": name}, ref))

    async def _forward(self, sub: Subscriber, after: int | None) -> None:
        """Send what the channel missed, then let the hub write its events; wait for the end."""
        name = sub.channel.name
        try:
            async for item in catch_up(self.hub, sub, after):
                if isinstance(item, Resync):
                    await self.send({"type": "resync", "channel": name, "id": item.head})
                else:
                    await self.send(ws_event(sub.channel, item).decode())
            reason = await sub.wait_closed()
            if reason == "shutdown":
                with contextlib.suppress(Exception):
                    await self.ws.close(CLOSE_GOING_AWAY, "server shutting down")
        except ConnectionClosed:
            pass
        except (NatsError, TimeoutError) as exc:
            # NATS failed mid-replay: drop the socket; the client resumes from its last id.
            log.warning("ws %s ended: %s", name, exc or type(exc).__name__)
            with contextlib.suppress(Exception):
                await self.ws.close(CLOSE_TRY_AGAIN, "events unavailable, resume later")

    async def _check_in(self, msg: dict[str, Any], ref: object) -> None:
        if self.kiosk_id is None or self.kiosk_location_id is None:
            await self.error("forbidden", "Only a kiosk can check bookings in.", ref)
            return
        booking_id = msg.get("booking_id")
        if not isinstance(booking_id, int) or isinstance(booking_id, bool):
            await self.error("validation_failed", "booking_id must be an integer.", ref)
            return
        space_id = await kiosks.booking_space(booking_id, self.kiosk_location_id)
        if space_id is None:
            await self.error("booking_not_found", "No such booking at this location.", ref)
            return
        try:
            booking = await check_in_by_kiosk(
                self._registry, self.kiosk_location_id, space_id, booking_id, _pin(msg)
            )
        except DomainError as exc:
            await self.error(exc.code, exc.detail, ref)
            return
        await self.send(_with_ref({"type": "checked_in", "booking": booking}, ref))

    async def _watch_kiosk(self) -> None:
        """A revoked kiosk loses its socket within a heartbeat."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            if self.kiosk_id is not None and not await kiosks.is_active(self.kiosk_id):
                with contextlib.suppress(Exception):
                    await self.error("kiosk_revoked", "This kiosk was revoked.")
                    await self.ws.close(CLOSE_KIOSK_REVOKED, "kiosk revoked")
                return

    def _lose_right(self, reason: str) -> None:
        """The member's token expired or their right ended: personal channels end now."""
        self.principal = None
        for sub, _ in self._subs.values():
            if sub.channel.is_personal:
                sub.close(reason)


def _pin(msg: dict[str, Any]) -> str | None:
    pin = msg.get("pin")
    return pin if isinstance(pin, str) and len(pin) <= 16 else None


def _with_ref(body: dict[str, Any], ref: object) -> dict[str, Any]:
    if ref is not None:
        body["ref"] = ref
    return body


async def _exists(channel: Channel) -> bool:
    match channel.kind:
        case ChannelKind.LOCATION:
            return await Location.exists(id=channel.id, active=True)
        case ChannelKind.SPACE:
            return await Space.exists(id=channel.id, active=True)
        case ChannelKind.USER:
            return True
