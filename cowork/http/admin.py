"""Administration: the deadline timer's state and a manual sweep; the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request, json

from cowork.accounts.tokens import Role
from cowork.domain.problems import Problem
from cowork.http.auth import managed_location_ids, require_role
from cowork.http.context import services
from cowork.http.docs import Out, doc
from cowork.http.parsing import (
    Id,
    PageParams,
    Query,
    QueryInstant,
    cursor_id,
    encode_cursor,
    page_body,
    parse_query,
)
from cowork.http.reports import now_of
from cowork.store import deadlines
from cowork.store.audit import AuditFilter, entries

bp = Blueprint("admin", url_prefix="/api/v1/admin")

TAG = "admin"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# Expiries


class ExpiriesQuery(Query):
    limit: int = Field(10, ge=1, le=100, description="Next deadlines listed per kind")


class Deadline(Out):
    booking_id: int
    space_id: int
    location_id: int
    deadline_at: str
    start: str
    end: str
    expires_at: str | None


class DeadlineKind(Out):
    kind: str
    status: str
    pending: int
    due: int
    overdue: int
    next_at: str | None
    next: list[Deadline]


class ExpiredHold(Out):
    booking_id: int
    space_id: int
    location_id: int
    user_id: int
    expires_at: str | None
    expired_at: str


class TimerOut(Out):
    last_sweep_at: str | None
    last_lag_seconds: float
    processed: int
    reminders_fired: int  # by this node's timer since it started
    next_deadline_at: str | None
    recent: list[dict[str, Any]]


class Expiries(Out):
    at: str
    node_id: str
    overdue_after_seconds: float
    due: int
    overdue: int
    kinds: list[DeadlineKind]
    timer: TimerOut
    recently_expired: list[ExpiredHold]


def _timer(request: Request) -> dict[str, Any]:
    status = services(request).timer.status
    return {
        "last_sweep_at": _iso(status.last_sweep_at),
        "last_lag_seconds": status.last_lag_seconds,
        "processed": status.processed,
        "reminders_fired": status.reminders_fired,
        "next_deadline_at": _iso(status.next_deadline_at),
        "recent": [{"booking_id": b, "at": at.isoformat()} for b, at in status.recent],
    }


@bp.get("/expiries")
@doc(
    "The deadline timer: next deadlines by kind, due and overdue, last sweep, expired holds",
    tag=TAG,
    query=ExpiriesQuery,
    response=Expiries,
    errors=(Problem.FORBIDDEN,),
)
async def expiries(request: Request) -> HTTPResponse:
    require_role(request, Role.ADMIN)
    q = parse_query(request, ExpiriesQuery)
    now = now_of(request)
    kinds = await deadlines.by_kind(now, q.limit)
    expired = await deadlines.recently_expired(20)
    body = {
        "at": now.isoformat(),
        "node_id": services(request).settings.node_id,
        "overdue_after_seconds": deadlines.OVERDUE_AFTER.total_seconds(),
        "due": sum(k["due"] for k in kinds),
        "overdue": sum(k["overdue"] for k in kinds),
        "kinds": kinds,
        "timer": _timer(request),
        "recently_expired": expired,
    }
    return json(body)


class SweepOut(Out):
    handled: int
    timer: TimerOut


@bp.post("/expiries/sweep")
@doc("Run the deadline timer now (admins)", tag=TAG, response=SweepOut, errors=(Problem.FORBIDDEN,))
async def sweep(request: Request) -> HTTPResponse:
    require_role(request, Role.ADMIN)
    handled = await services(request).timer.sweep()
    return json({"handled": handled, "timer": _timer(request)})


# Audit log


class AuditQuery(PageParams):
    entity: str | None = Field(None, max_length=64, description="location, space, closure, ...")
    entity_id: str | None = Field(None, max_length=64)
    actor: Id | None = Field(None, description="User id of who made the change")
    location_id: Id | None = None
    from_: QueryInstant | None = Field(None, alias="from", description="At or after")
    to: QueryInstant | None = Field(None, description="Before")


class AuditItem(Out):
    id: int
    at: str
    actor_id: int | None
    action: str
    entity: str
    entity_id: str
    location_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(Out):
    items: list[AuditItem]
    next_cursor: str | None


@bp.get("/audit")
@doc(
    "Audit log, newest first (admins: all; managers: entries of their locations)",
    tag=TAG,
    query=AuditQuery,
    response=AuditPage,
    errors=(Problem.FORBIDDEN,),
)
async def audit_log(request: Request) -> HTTPResponse:
    principal = require_role(request, Role.MANAGER, Role.ADMIN)
    q = parse_query(request, AuditQuery)
    visible = await managed_location_ids(principal)
    if visible is not None and q.location_id is not None and q.location_id not in visible:
        raise Problem.FORBIDDEN.error("You do not manage this location.")
    spec = AuditFilter(
        entity=q.entity,
        entity_id=q.entity_id,
        actor_id=q.actor,
        location_id=q.location_id,
        since=q.from_,
        until=q.to,
        visible_locations=None if visible is None else sorted(visible),
    )
    before = cursor_id(q.cursor)
    rows = await entries(spec, before_id=before, limit=q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return json(page_body(rows, encode_cursor(rows[-1]["id"]) if more and rows else None))
