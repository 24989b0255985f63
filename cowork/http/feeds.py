"""Calendar feeds: a member's secret feed URL (show, rotate, revoke), a space's feed for its
staff, and the feed itself at `/ical/{token}.ics` (RFC 5545; the token is the only key)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sanic import Blueprint, HTTPResponse, Request, empty, json, raw

from cowork.accounts.tokens import Role
from cowork.actions import feeds as feed_actions
from cowork.actions.feeds import FeedOwner
from cowork.config import NotifySettings
from cowork.domain.calendar import token_hash
from cowork.domain.problems import Problem
from cowork.http.auth import require_manager_of, require_role, require_user
from cowork.http.context import services
from cowork.http.docs import Out, doc
from cowork.integrations.feeds import feed_document
from cowork.store import catalogue
from cowork.store.feeds import FeedRow, feed_for_token

bp = Blueprint("feeds")

TAG = "calendar"
MAX_TOKEN_LENGTH = 64
NO_STORE = {"Cache-Control": "no-store"}


class FeedOut(Out):
    url: str
    created_at: datetime
    last_fetched_at: datetime | None


def public_base(request: Request) -> str:
    """Where clients reach us: COWORK_PUBLIC_URL (as in e-mailed links and invitations, whose
    UIDs feeds share), else the address this request came to."""
    configured = services(request).settings.notify.public_url
    if configured != NotifySettings().public_url:
        return configured
    return f"{request.scheme}://{request.host}"


def _feed_body(request: Request, feed: FeedRow) -> HTTPResponse:
    token = feed_actions.token_of(services(request).settings.feed_key, feed)
    body = {
        "url": f"{public_base(request)}/ical/{token}.ics",
        "created_at": feed.created_at.isoformat(),
        "last_fetched_at": feed.last_fetched_at.isoformat() if feed.last_fetched_at else None,
    }
    return json(body, headers=NO_STORE)


def _mine(request: Request) -> FeedOwner:
    return FeedOwner(require_user(request).user_id)


async def _space(request: Request, space_id: int) -> FeedOwner:
    require_role(request, Role.MANAGER, Role.ADMIN)  # members are refused before any lookup
    space = await catalogue.get_space(space_id, public=False)
    principal = await require_manager_of(request, space.location.id)
    return FeedOwner(principal.user_id, space.id, space.location.id)


@bp.get("/api/v1/me/calendar-feed")
@doc("My calendar feed's secret URL (made on first ask)", tag=TAG, response=FeedOut)
async def my_feed(request: Request) -> HTTPResponse:
    node = services(request)
    feed = await feed_actions.show_feed(node, node.settings.feed_key, _mine(request))
    return _feed_body(request, feed)


@bp.post("/api/v1/me/calendar-feed/rotate")
@doc("Replace my feed's URL (the old one answers 404)", tag=TAG, response=FeedOut)
async def rotate_my_feed(request: Request) -> HTTPResponse:
    node = services(request)
    feed = await feed_actions.rotate_feed(node, node.settings.feed_key, _mine(request))
    return _feed_body(request, feed)


@bp.delete("/api/v1/me/calendar-feed")
@doc("Revoke my feed's URL (a new one is made on the next GET)", tag=TAG, status=204)
async def revoke_my_feed(request: Request) -> HTTPResponse:
    await feed_actions.revoke_feed(services(request), _mine(request))
    return empty()


@bp.get("/api/v1/manage/spaces/<space_id:int>/calendar-feed")
@doc(
    "A space's calendar feed URL for me (staff of its location)",
    tag=TAG,
    response=FeedOut,
    errors=(Problem.FORBIDDEN,),
)
async def space_feed(request: Request, space_id: int) -> HTTPResponse:
    node = services(request)
    owner = await _space(request, space_id)
    return _feed_body(request, await feed_actions.show_feed(node, node.settings.feed_key, owner))


@bp.post("/api/v1/manage/spaces/<space_id:int>/calendar-feed/rotate")
@doc("Replace my feed URL of a space", tag=TAG, response=FeedOut, errors=(Problem.FORBIDDEN,))
async def rotate_space_feed(request: Request, space_id: int) -> HTTPResponse:
    node = services(request)
    owner = await _space(request, space_id)
    return _feed_body(request, await feed_actions.rotate_feed(node, node.settings.feed_key, owner))


@bp.delete("/api/v1/manage/spaces/<space_id:int>/calendar-feed")
@doc("Revoke my feed URL of a space", tag=TAG, status=204, errors=(Problem.FORBIDDEN,))
async def revoke_space_feed(request: Request, space_id: int) -> HTTPResponse:
    await feed_actions.revoke_feed(services(request), await _space(request, space_id))
    return empty()


# Not an API operation (no @doc, docs/api.md): calendar applications subscribe to the URL
# as given; the token in it is the only credential.
@bp.get("/ical/<name:str>")
async def ical(request: Request, name: str) -> HTTPResponse:
    token = name.removesuffix(".ics")
    feed = None
    if name.endswith(".ics") and 0 < len(token) <= MAX_TOKEN_LENGTH:
        feed = await feed_for_token(token_hash(token))
    if feed is None:
        raise Problem.CALENDAR_FEED_NOT_FOUND.error()
    node = services(request)
    now = node.clock.now()
    domain = urlsplit(public_base(request)).hostname or "cowork.invalid"
    body = await feed_document(feed, now=now, uid_domain=domain)
    await feed_actions.feed_fetched(node, feed.id)
    headers = {"Cache-Control": "private, max-age=300"}
    return raw(body, content_type="text/calendar; charset=utf-8", headers=headers)
