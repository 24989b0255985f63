"""A member's notifications: list (newest first), mark one read, mark all read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sanic import Blueprint, HTTPResponse, Request, json

from cowork.actions import notifications as notification_actions
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.docs import Link, Out, doc
from cowork.http.parsing import Flag, PageParams, page_body, paginate, parse_query
from cowork.store.models import Notification

bp = Blueprint("notifications")


class NotificationQuery(PageParams):
    unread: Flag = False


class NotificationOut(Out):
    id: int
    type: str
    title: str
    body: str
    booking_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Out):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class ReadAll(Out):
    updated: int


def notification_body(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "booking_id": n.booking_id,
        "data": n.data,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


@bp.get("/api/v1/notifications")
@doc(
    "My notifications, newest first",
    tag="notifications",
    query=NotificationQuery,
    response=NotificationPage,
    links={
        "readFirst": Link(
            "notifications_read_one",
            {"notification_id": "$response.body#/items/0/id"},
            "Mark the first one read",
        )
    },
)
async def list_notifications(request: Request) -> HTTPResponse:
    principal = require_user(request)
    query = parse_query(request, NotificationQuery)
    mine = Notification.filter(user_id=principal.user_id)
    rows, cursor = await paginate(
        mine.filter(read_at=None) if query.unread else mine, query, newest_first=True
    )
    unread = await Notification.filter(user_id=principal.user_id, read_at=None).count()
    return json({**page_body([notification_body(n) for n in rows], cursor), "unread_count": unread})


@bp.post("/api/v1/notifications/<notification_id:int>/read")
@doc(
    "Mark one of my notifications read",
    tag="notifications",
    response=NotificationOut,
)
async def read_one(request: Request, notification_id: int) -> HTTPResponse:
    principal = require_user(request)
    row = await notification_actions.mark_read(
        services(request), principal.user_id, notification_id
    )
    return json(notification_body(row))


@bp.post("/api/v1/notifications/read-all")
@doc("Mark all my notifications read", tag="notifications", response=ReadAll)
async def read_all(request: Request) -> HTTPResponse:
    principal = require_user(request)
    updated = await notification_actions.mark_all_read(services(request), principal.user_id)
    return json({"updated": updated})
