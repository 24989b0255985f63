"""Kiosks: staff register and revoke the shared screens of a location; a kiosk reads its board.

A kiosk authenticates with `Authorization: Kiosk <token>`. The token is shown once at creation
and stored as its sha256; revoking it takes effect on the next request (and closes the kiosk's
websocket within a heartbeat).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.accounts.tokens import Role
from cowork.actions import kiosks as kiosk_actions
from cowork.actors.kiosk import check_in_by_kiosk
from cowork.domain.errors import BookingNotFoundError
from cowork.domain.presence import location_code
from cowork.domain.problems import Problem
from cowork.domain.states import BookingStatus
from cowork.http.auth import managed_location_ids, require_manager_of, require_role
from cowork.http.context import services
from cowork.http.docs import ACTOR_PROBLEMS, Auth, Link, Out, doc
from cowork.http.parsing import (
    BigId,
    Body,
    Id,
    PageParams,
    page_body,
    paginate,
    parse_body,
    parse_query,
)
from cowork.store import kiosks
from cowork.store.catalogue import SpaceType
from cowork.store.models import KioskDevice, Location

bp = Blueprint("kiosks")


class KioskIn(Body):
    location_id: Id
    name: str = Field(min_length=1, max_length=120)


class KioskQuery(PageParams):
    location_id: Id | None = None


class KioskOut(Out):
    id: int
    location_id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None


class KioskCreated(KioskOut):
    token: str


class KioskPage(Out):
    items: list[KioskOut]
    next_cursor: str | None


class BookingSlotOut(Out):
    booking_id: int
    status: BookingStatus
    start: datetime
    end: datetime


class KioskSpaceOut(Out):
    space_id: int
    name: str
    type: SpaceType
    floor: int
    current: BookingSlotOut | None
    next: BookingSlotOut | None


class KioskBoard(Out):
    location_id: int
    at: datetime
    spaces: list[KioskSpaceOut]


class KioskCheckIn(Body):
    booking_id: BigId
    pin: str = Field(pattern=r"^[0-9]{6}$", description="The PIN shown with the booking")


class PresenceCodeOut(Out):
    location_id: int
    code: str
    rotates_at: datetime
    check_in_url: str


class PublicBooking(Out):
    """A booking as a shared screen may show it: no member, no price."""

    booking_id: int
    space_id: int
    start: datetime
    end: datetime
    status: BookingStatus


class KioskCheckedIn(Out):
    booking: PublicBooking


def kiosk_body(k: KioskDevice) -> dict[str, Any]:
    return {
        "id": k.id,
        "location_id": k.location_id,  # type: ignore[attr-defined]
        "name": k.name,
        "created_at": k.created_at.isoformat(),
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        "last_seen_at": k.last_seen_at.isoformat() if k.last_seen_at else None,
    }


@bp.post("/api/v1/admin/kiosks")
@doc(
    "Register a kiosk; its token is shown only in this response",
    tag="kiosks",
    body=KioskIn,
    response=KioskCreated,
    status=201,
    links={"revoke": Link("kiosks_revoke_kiosk", {"kiosk_id": "$response.body#/id"}, "Revoke")},
    errors=(Problem.FORBIDDEN, Problem.LOCATION_NOT_FOUND),
)
async def create_kiosk(request: Request) -> HTTPResponse:
    body = parse_body(request, KioskIn)
    principal = await require_manager_of(request, body.location_id)
    if not await Location.exists(id=body.location_id):
        raise Problem.LOCATION_NOT_FOUND.error()
    kiosk, token = await kiosk_actions.register_kiosk(
        services(request), principal.user_id, body.location_id, body.name
    )
    return json({**kiosk_body(kiosk), "token": token}, status=201)


@bp.get("/api/v1/admin/kiosks")
@doc(
    "Kiosks of the locations I manage",
    tag="kiosks",
    query=KioskQuery,
    response=KioskPage,
    errors=(Problem.FORBIDDEN,),
)
async def list_kiosks(request: Request) -> HTTPResponse:
    principal = require_role(request, *_STAFF)
    query = parse_query(request, KioskQuery)
    allowed = await managed_location_ids(principal)
    rows = KioskDevice.all()
    if allowed is not None:
        rows = rows.filter(location_id__in=list(allowed))
    if query.location_id is not None:
        rows = rows.filter(location_id=query.location_id)
    found, cursor = await paginate(rows, query)
    return json(page_body([kiosk_body(k) for k in found], cursor))


@bp.delete("/api/v1/admin/kiosks/<kiosk_id:int>")
@doc(
    "Revoke a kiosk (its token stops working at once)",
    tag="kiosks",
    status=204,
    errors=(Problem.FORBIDDEN,),
)
async def revoke_kiosk(request: Request, kiosk_id: int) -> HTTPResponse:
    kiosk = await KioskDevice.get_or_none(id=kiosk_id)
    if kiosk is None:
        require_role(request, *_STAFF)
        raise Problem.KIOSK_NOT_FOUND.error()
    principal = await require_manager_of(request, kiosk.location_id)  # type: ignore[attr-defined]
    await kiosk_actions.revoke_kiosk(services(request), principal.user_id, kiosk)
    return HTTPResponse(status=204)


@bp.get("/api/v1/kiosk/now")
@doc(
    "The kiosk's board: each space's current and next booking (no personal data)",
    tag="kiosks",
    response=KioskBoard,
    auth=Auth.KIOSK,
)
async def kiosk_now(request: Request) -> HTTPResponse:
    kiosk = await require_kiosk(request)
    location_id: int = kiosk.location_id  # type: ignore[attr-defined]
    now = services(request).clock.now()
    spaces = await kiosks.board(location_id, now)
    return json({"location_id": location_id, "at": now.isoformat(), "spaces": spaces})


@bp.post("/api/v1/kiosk/check-in")
@doc(
    "Check a booking in at this kiosk's location",
    tag="kiosks",
    body=KioskCheckIn,
    response=KioskCheckedIn,
    auth=Auth.KIOSK,
    errors=(
        Problem.BOOKING_NOT_FOUND,
        Problem.BOOKING_CHANGED,
        Problem.INVALID_TRANSITION,
        Problem.CHECK_IN_WINDOW_CLOSED,
        Problem.PRESENCE_REQUIRED,
        *ACTOR_PROBLEMS,
    ),
)
async def kiosk_check_in(request: Request) -> HTTPResponse:
    kiosk = await require_kiosk(request)
    body = parse_body(request, KioskCheckIn)
    location_id: int = kiosk.location_id  # type: ignore[attr-defined]
    space_id = await kiosks.booking_space(body.booking_id, location_id)
    if space_id is None:
        raise BookingNotFoundError(body.booking_id)
    booking = await check_in_by_kiosk(
        services(request).registry, location_id, space_id, body.booking_id, body.pin
    )
    return json({"booking": booking})


@bp.get("/api/v1/kiosk/presence")
@doc(
    "The code this kiosk shows (rotates every 30 s): members check in with it",
    tag="kiosks",
    response=PresenceCodeOut,
    auth=Auth.KIOSK,
)
async def kiosk_presence(request: Request) -> HTTPResponse:
    kiosk = await require_kiosk(request)
    location_id: int = kiosk.location_id  # type: ignore[attr-defined]
    node = services(request)
    code, rotates = location_code(node.settings.presence_key, location_id, node.clock.now())
    url = f"/bookings?check_in={code}&location={location_id}"
    body = {"location_id": location_id, "code": code, "rotates_at": rotates.isoformat()}
    return json({**body, "check_in_url": url}, headers={"Cache-Control": "no-store"})


_STAFF = (Role.MANAGER, Role.ADMIN)


async def require_kiosk(request: Request) -> KioskDevice:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    kiosk = await kiosks.kiosk_for_token(token.strip()) if scheme.lower() == "kiosk" else None
    if kiosk is None:
        raise Problem.UNAUTHORIZED.error(
            "Send a valid, unrevoked kiosk token as `Authorization: Kiosk <token>`.",
            headers={"WWW-Authenticate": "Kiosk"},
        )
    await kiosk_actions.kiosk_seen(services(request), kiosk.id)
    return kiosk
