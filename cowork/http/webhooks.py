"""Outgoing webhooks for operators: register endpoints, change and delete them, read the
delivery log, replay one delivery or a time range. Staff see the endpoints of the locations
they manage (every location an endpoint covers); anyone else gets 404 for them."""

from __future__ import annotations

from datetime import timedelta

from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.accounts.tokens import Principal, Role
from cowork.actions import webhooks as actions
from cowork.actions.webhooks import endpoint_view
from cowork.domain.problems import Problem
from cowork.http.auth import managed_location_ids, require_role
from cowork.http.context import services
from cowork.http.docs import Link, doc
from cowork.http.parsing import (
    PageParams,
    decode_cursor,
    encode_cursor,
    page_body,
    parse_body,
    parse_query,
)
from cowork.http.webhook_bodies import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryQuery,
    ReplayQueued,
    ReplayRange,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
    delivery_body,
)
from cowork.store import webhook_log
from cowork.store import webhooks as store
from cowork.store.webhooks import EndpointRow

bp = Blueprint("webhooks", url_prefix="/api/v1/manage/webhooks")

TAG = "webhooks"
STAFF = (Role.MANAGER, Role.ADMIN)
# What staff may send about the endpoints they name (a member is refused before any lookup).
FORBIDDEN = (Problem.FORBIDDEN,)
CHECKED = (Problem.UNKNOWN_WEBHOOK_EVENT, Problem.UNKNOWN_LOCATION, Problem.WEBHOOK_URL_REFUSED)


def _on_endpoint(target: str, description: str) -> Link:
    return Link(target, {"endpoint_id": "$response.body#/id"}, description)


ENDPOINT_LINKS = {
    "get": _on_endpoint("webhooks_get_webhook", "Read it"),
    "update": _on_endpoint("webhooks_patch_webhook", "Change it"),
    "delete": _on_endpoint("webhooks_delete_webhook", "Delete it"),
    "deliveries": _on_endpoint("webhooks_list_deliveries", "Its delivery log"),
}


async def _may_cover(principal: Principal, location_ids: list[int]) -> None:
    managed = await managed_location_ids(principal)
    if managed is not None and not set(location_ids) <= managed:
        raise Problem.FORBIDDEN.error("You do not manage every location listed.")


async def _endpoint(request: Request, endpoint_id: int) -> tuple[Principal, EndpointRow]:
    principal = require_role(request, *STAFF)  # members are refused before any lookup
    row = await store.get(endpoint_id)  # within its column: parsing.check_path_ids
    if row is None or not row.visible_to(await managed_location_ids(principal)):
        raise Problem.WEBHOOK_NOT_FOUND.error()
    return principal, row


def _window(request: Request) -> timedelta:
    return timedelta(seconds=services(request).settings.webhooks.retry_window_seconds)


@bp.post("")
@doc(
    "Register an endpoint; its signing secret is shown only in this response",
    tag=TAG,
    body=WebhookIn,
    response=WebhookCreated,
    status=201,
    links=ENDPOINT_LINKS,
    errors=(*FORBIDDEN, *CHECKED),
)
async def create_webhook(request: Request) -> HTTPResponse:
    principal = require_role(request, *STAFF)
    body = parse_body(request, WebhookIn)
    await _may_cover(principal, body.location_ids)
    node = services(request)
    row, secret = await actions.register_endpoint(
        node, node.webhooks.transport, principal.user_id, body.model_dump()
    )
    headers = {"location": f"/api/v1/manage/webhooks/{row.id}", "Cache-Control": "no-store"}
    return json({**endpoint_view(row), "secret": secret}, status=201, headers=headers)


@bp.get("")
@doc(
    "Endpoints of the locations I manage",
    tag=TAG,
    query=PageParams,
    response=WebhookPage,
    errors=FORBIDDEN,
)
async def list_webhooks(request: Request) -> HTTPResponse:
    principal = require_role(request, *STAFF)
    page = parse_query(request, PageParams)
    after = decode_cursor(page.cursor) if page.cursor else None
    managed = await managed_location_ids(principal)
    rows = await store.page(managed, after_id=after, limit=page.limit + 1)
    cursor = encode_cursor(rows[page.limit - 1].id) if len(rows) > page.limit else None
    return json(page_body([endpoint_view(r) for r in rows[: page.limit]], cursor))


@bp.get("/<endpoint_id:int>")
@doc("One endpoint", tag=TAG, response=WebhookOut, errors=FORBIDDEN)
async def get_webhook(request: Request, endpoint_id: int) -> HTTPResponse:
    _, row = await _endpoint(request, endpoint_id)
    return json(endpoint_view(row))


@bp.patch("/<endpoint_id:int>")
@doc(
    "Change an endpoint (`enabled: true` re-enables a disabled one)",
    tag=TAG,
    body=WebhookPatch,
    response=WebhookOut,
    errors=(*FORBIDDEN, *CHECKED),
)
async def patch_webhook(request: Request, endpoint_id: int) -> HTTPResponse:
    principal, row = await _endpoint(request, endpoint_id)
    body = parse_body(request, WebhookPatch)
    changes = body.model_dump(include=body.model_fields_set, exclude_none=True)
    if "location_ids" in changes:
        await _may_cover(principal, changes["location_ids"])
    node = services(request)
    updated = await actions.update_endpoint(
        node, node.webhooks.transport, principal.user_id, row, changes
    )
    return json(endpoint_view(updated))


@bp.delete("/<endpoint_id:int>")
@doc("Delete an endpoint and its delivery log", tag=TAG, status=204, errors=FORBIDDEN)
async def delete_webhook(request: Request, endpoint_id: int) -> HTTPResponse:
    principal, row = await _endpoint(request, endpoint_id)
    await actions.delete_endpoint(services(request), principal.user_id, row)
    return empty()


@bp.get("/<endpoint_id:int>/deliveries")
@doc(
    "The endpoint's delivery log, newest first",
    tag=TAG,
    query=DeliveryQuery,
    response=DeliveryPage,
    errors=FORBIDDEN,
)
async def list_deliveries(request: Request, endpoint_id: int) -> HTTPResponse:
    _, row = await _endpoint(request, endpoint_id)
    query = parse_query(request, DeliveryQuery)
    before = decode_cursor(query.cursor) if query.cursor else None
    found = await webhook_log.page(row.id, query.status, before_id=before, limit=query.limit + 1)
    more = len(found) > query.limit
    cursor = encode_cursor(found[query.limit - 1]["id"]) if more else None
    return json(page_body([delivery_body(d) for d in found[: query.limit]], cursor))


@bp.get("/<endpoint_id:int>/deliveries/<delivery_id:int>")
@doc(
    "One delivery: the body sent and every attempt",
    tag=TAG,
    response=DeliveryDetail,
    errors=FORBIDDEN,
)
async def get_delivery(request: Request, endpoint_id: int, delivery_id: int) -> HTTPResponse:
    _, row = await _endpoint(request, endpoint_id)
    found = await webhook_log.one(row.id, delivery_id)
    if found is None:
        raise Problem.WEBHOOK_DELIVERY_NOT_FOUND.error()
    return json(delivery_body(found, detail=True))


@bp.post("/<endpoint_id:int>/deliveries/<delivery_id:int>/replay")
@doc(
    "Send one delivery again (same webhook-id and body)",
    tag=TAG,
    response=ReplayQueued,
    status=202,
    errors=(*FORBIDDEN, Problem.WEBHOOK_DISABLED),
)
async def replay_delivery(request: Request, endpoint_id: int, delivery_id: int) -> HTTPResponse:
    principal, row = await _endpoint(request, endpoint_id)
    await actions.replay_delivery(
        services(request), principal.user_id, row, delivery_id, _window(request)
    )
    return json({"queued": 1}, status=202)


@bp.post("/<endpoint_id:int>/replay")
@doc(
    "Send again the deliveries of events in a time range (by default the failed ones)",
    tag=TAG,
    body=ReplayRange,
    response=ReplayQueued,
    status=202,
    errors=(
        *FORBIDDEN,
        Problem.WEBHOOK_DISABLED,
        Problem.INVALID_REPLAY_RANGE,
        Problem.INSTANT_OUT_OF_RANGE,
    ),
)
async def replay_range(request: Request, endpoint_id: int) -> HTTPResponse:
    principal, row = await _endpoint(request, endpoint_id)
    body = parse_body(request, ReplayRange)
    node = services(request)
    until = body.until or node.clock.now()
    queued = await actions.replay_range(
        node, principal.user_id, row, body.since, until,
        only_failed=body.only_failed, window=_window(request),
    )  # fmt: skip
    return json({"queued": queued}, status=202)
