"""Calendar feeds: show (making one on first ask), rotate, revoke; staff feeds are audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.domain.calendar import feed_token, token_hash
from cowork.store import audit
from cowork.store import feeds as store
from cowork.store.feeds import FeedRow


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """Whose feed: a member's own bookings, or (space_id set) one space for its staff."""

    user_id: int
    space_id: int | None = None
    location_id: int | None = None  # the space's, for the audit entry


def token_of(key: bytes, feed: FeedRow) -> str:
    return feed_token(key, feed.id, feed.nonce)


async def _create(conn: BaseDBAsyncClient, key: bytes, owner: FeedOwner) -> FeedRow:
    feed_id = await store.next_feed_id(conn)
    nonce = secrets.token_urlsafe(24)
    made = await store.insert_feed(
        conn,
        feed_id,
        owner.user_id,
        owner.space_id,
        nonce,
        token_hash(feed_token(key, feed_id, nonce)),
    )
    if made is None:  # a concurrent request made the live feed first: show that one
        made = await store.live_feed(owner.user_id, owner.space_id, conn)
    assert made is not None
    return made


async def show_feed(fx: Effects, key: bytes, owner: FeedOwner) -> FeedRow:
    """The live feed, made on the first ask. A feed whose stored hash no longer matches its
    token (the server's key changed) is replaced, so the URL shown always works."""
    feed = await store.live_feed(owner.user_id, owner.space_id)
    if feed is not None and feed.token_hash == token_hash(token_of(key, feed)):
        return feed
    if feed is not None:
        return await rotate_feed(fx, key, owner)
    async with in_transaction() as conn:
        feed = await _create(conn, key, owner)
        await _audit(conn, owner, "calendar_feed.created", feed.id)
    return feed


async def rotate_feed(fx: Effects, key: bytes, owner: FeedOwner) -> FeedRow:
    """A new token; the old URL answers 404 from now on."""
    async with in_transaction() as conn:
        await store.revoke(conn, owner.user_id, owner.space_id, fx.clock.now())
        feed = await _create(conn, key, owner)
        await _audit(conn, owner, "calendar_feed.rotated", feed.id)
    return feed


async def revoke_feed(fx: Effects, owner: FeedOwner) -> bool:
    """No feed until the owner asks for one again; False if there was none."""
    async with in_transaction() as conn:
        revoked = await store.revoke(conn, owner.user_id, owner.space_id, fx.clock.now())
        if revoked is not None:
            await _audit(conn, owner, "calendar_feed.revoked", revoked)
    return revoked is not None


async def feed_fetched(fx: Effects, feed_id: int) -> None:
    await store.mark_fetched(feed_id, fx.clock.now())


async def _audit(conn: BaseDBAsyncClient, owner: FeedOwner, action: str, feed_id: int) -> None:
    if owner.space_id is None:  # a member's own feed is not a staff action
        return
    after = {"space_id": owner.space_id}
    await audit.record(
        conn, owner.user_id, action, "calendar_feed", feed_id, owner.location_id, None, after
    )
