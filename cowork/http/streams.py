"""Event streams: SSE per location, space and member; the websocket; stream tokens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

from nats.errors import Error as NatsError
from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json
from sanic.server.websockets.impl import WebsocketImplProtocol

from cowork.accounts.epochs import current_principal
from cowork.accounts.tokens import InvalidTokenError, Principal, TokenKind, issue, verify
from cowork.domain.problems import Problem
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.docs import Auth, Out, doc
from cowork.http.parsing import Query
from cowork.realtime.channels import Channel, ChannelKind
from cowork.realtime.delivery import TransportSink, Wire
from cowork.realtime.follow import Resync, catch_up, parse_event_id
from cowork.realtime.hub import Hub
from cowork.realtime.presence import Presence
from cowork.realtime.rights import StreamRight
from cowork.realtime.websocket import WebsocketSession
from cowork.store.models import Location, Space

log = logging.getLogger("cowork.http.streams")
bp = Blueprint("streams")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


SSE = "text/event-stream"


class StreamQuery(Query):
    last_event_id: str | None = Field(
        None, description="Resume after this event id (or send the Last-Event-ID header)"
    )


class StreamToken(Out):
    token: str
    expires_in: int


class PresenceOut(Out):
    space_id: int
    watching: int
    checking_out: int


class CheckoutOut(PresenceOut):
    ttl_seconds: int


@bp.post("/api/v1/streams/token")
@doc("A short-lived token for /streams/me and the websocket", tag="streams", response=StreamToken)
async def stream_token(request: Request) -> HTTPResponse:
    principal = require_user(request)
    node = services(request)
    ttl = node.settings.stream_token_ttl_seconds
    token = issue(node.settings.jwt_secret, principal, TokenKind.STREAM, ttl, now=node.clock.now())
    return json({"token": token, "expires_in": ttl}, headers={"Cache-Control": "no-store"})


@bp.get("/api/v1/streams/locations/<location_id:int>")
@doc(
    "Live status of a location's spaces (SSE, public)",
    tag="streams",
    query=StreamQuery,
    media_type=SSE,
    auth=Auth.NONE,
    errors=(Problem.STREAMS_UNAVAILABLE,),
)
async def location_stream(request: Request, location_id: int) -> HTTPResponse | None:
    if not await Location.exists(id=location_id, active=True):
        raise Problem.LOCATION_NOT_FOUND.error()
    await serve_sse(request, Channel(ChannelKind.LOCATION, location_id))
    return None


@bp.get("/api/v1/streams/spaces/<space_id:int>")
@doc(
    "Live status and presence of one space (SSE, public)",
    tag="streams",
    query=StreamQuery,
    media_type=SSE,
    auth=Auth.NONE,
    errors=(Problem.STREAMS_UNAVAILABLE,),
)
async def space_stream(request: Request, space_id: int) -> HTTPResponse | None:
    if not await Space.exists(id=space_id, active=True):
        raise Problem.SPACE_NOT_FOUND.error()
    await serve_sse(request, Channel(ChannelKind.SPACE, space_id))
    return None


@bp.get("/api/v1/streams/me")
@doc(
    "My bookings and notifications, live (SSE; `?token=` from POST /streams/token)",
    tag="streams",
    query=StreamQuery,
    media_type=SSE,
    auth=Auth.STREAM,
    errors=(Problem.STREAMS_UNAVAILABLE,),
)
async def my_stream(request: Request) -> HTTPResponse | None:
    principal = await stream_principal(request, request.args.get("token"))
    await serve_sse(request, Channel(ChannelKind.USER, principal.user_id), principal)
    return None


@bp.get("/api/v1/spaces/<space_id:int>/presence")
@doc(
    "How many watch this space and how many are checking out (approximate)",
    tag="streams",
    response=PresenceOut,
    auth=Auth.NONE,
    errors=(Problem.PRESENCE_UNAVAILABLE,),
)
async def space_presence(request: Request, space_id: int) -> HTTPResponse:
    presence = presence_of(request)
    if not await Space.exists(id=space_id, active=True):
        raise Problem.SPACE_NOT_FOUND.error()
    return json(presence.counts(space_id).as_dict())


@bp.post("/api/v1/spaces/<space_id:int>/presence/checkout")
@doc(
    "I am checking out on this space (renew within ttl_seconds)",
    tag="streams",
    response=CheckoutOut,
    errors=(Problem.PRESENCE_UNAVAILABLE,),
)
async def start_checkout(request: Request, space_id: int) -> HTTPResponse:
    return await _checkout(request, space_id, active=True)


@bp.delete("/api/v1/spaces/<space_id:int>/presence/checkout")
@doc(
    "I left the checkout of this space",
    tag="streams",
    response=CheckoutOut,
    errors=(Problem.PRESENCE_UNAVAILABLE,),
)
async def end_checkout(request: Request, space_id: int) -> HTTPResponse:
    return await _checkout(request, space_id, active=False)


async def _checkout(request: Request, space_id: int, *, active: bool) -> HTTPResponse:
    principal = require_user(request)
    presence = presence_of(request)
    if not await Space.exists(id=space_id, active=True):
        raise Problem.SPACE_NOT_FOUND.error()
    counts = await presence.checkout(space_id, principal.user_id, active)
    ttl = services(request).settings.checkout_ttl_seconds if active else 0
    return json({**counts.as_dict(), "ttl_seconds": ttl})


@bp.websocket("/api/v1/ws")
async def websocket(request: Request, ws: WebsocketImplProtocol) -> None:
    node = services(request)
    session = WebsocketSession(
        ws,
        hub=hub_of(request),
        settings=node.settings,
        metrics=node.metrics,
        registry=node.registry,
        fx=node,
        users=node.users,
        transport=cast(asyncio.Transport, request.transport),
    )
    await session.run()


async def stream_principal(request: Request, token: str | None) -> Principal:
    """The member a stream token names, as they are now, or 401 before any stream starts."""
    if not token:
        raise Problem.UNAUTHORIZED.error("Pass `?token=` from POST /streams/token.")
    node = services(request)
    try:
        claimed = verify(node.settings.jwt_secret, token, TokenKind.STREAM)
    except InvalidTokenError as exc:
        raise exc.problem.error("The stream token is not valid; get a new one.") from exc
    return await current_principal(node.users, claimed)


HEARTBEAT = b": heartbeat\n\n"


def resync_frame(head: int) -> str:
    body = f'{{"id":{head},"type":"resync","v":1}}'
    return f"id: {head}\nevent: resync\ndata: {body}\n\n"


def presence_of(request: Request) -> Presence:
    presence: Presence | None = services(request).presence
    if presence is None:
        raise Problem.PRESENCE_UNAVAILABLE.error("NATS is not running.")
    return presence


def hub_of(request: Request) -> Hub:
    hub: Hub | None = services(request).hub
    if hub is None:
        raise Problem.STREAMS_UNAVAILABLE.error("Events are not running.")
    return hub


async def serve_sse(request: Request, channel: Channel, owner: Principal | None = None) -> None:
    hub = hub_of(request)
    if request.method == "HEAD":  # the headers a stream would start with, and no stream
        await request.respond(content_type=SSE, headers=SSE_HEADERS)
        return
    after = parse_event_id(
        request.headers.get("last-event-id") or request.args.get("last_event_id")
    )
    settings = services(request).settings
    response = await request.respond(content_type="text/event-stream", headers=SSE_HEADERS)
    transport = cast(asyncio.Transport, request.transport)
    sub = hub.subscribe(channel, TransportSink(transport, Wire.SSE, settings.client_buffer_bytes))
    gauge = services(request).metrics.connections.labels("sse")
    gauge.inc()
    right = (
        StreamRight(services(request).users, owner, services(request).clock, sub.close)
        if owner is not None
        else None
    )
    try:
        await response.send(f"retry: 2000\n: connected {channel.name}\n\n")
        async for item in catch_up(hub, sub, after):
            await response.send(resync_frame(item.head) if isinstance(item, Resync) else item.frame)
        # Live: the hub writes events itself. This task only keeps the response open and
        # sends a heartbeat through Sanic (which also tells it the response is alive).
        while await sub.wait_closed(settings.heartbeat_seconds) is None:
            await response.send(HEARTBEAT)
    except (NatsError, TimeoutError) as exc:
        # NATS failed mid-replay: end the stream; the client resumes from its last id.
        log.warning("stream %s ended: %s", channel.name, exc or type(exc).__name__)
    finally:
        if right is not None:
            right.release()
        gauge.dec()
        hub.unsubscribe(sub)
        if not sub.overflowed:
            with contextlib.suppress(Exception):
                await response.eof()
