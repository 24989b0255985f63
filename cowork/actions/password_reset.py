"""Password reset: a member who forgot their password asks for a link by e-mail, then
chooses a new password with it (once); that ends every other session, like a change.

The e-mail goes through the notify mail channel: the request logs a delivery row in its own
transaction, and the delivery worker renders the link when it sends (the token is derived
from the row and the server's key, never stored). Nothing tells a caller whether the address
has an account.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from tortoise.transactions import in_transaction

from cowork.accounts import passwords, refresh
from cowork.accounts.passwords import AccountInactiveError
from cowork.accounts.throttle import AttemptThrottle
from cowork.actions.effects import Effects
from cowork.actions.sessions import end_access
from cowork.config import Settings
from cowork.domain.password_reset import ensure_usable, reset_token, token_hash
from cowork.domain.problems import Problem
from cowork.store import audit, notify_log
from cowork.store import resets as store
from cowork.store.models import User

log = logging.getLogger("cowork.accounts.reset")

EVENT_TYPE = "account.password_reset"  # the delivery log's event type (cowork.notify.account_mail)
TARGET = "email:password_reset"


async def request_reset(
    fx: Effects, settings: Settings, email: str, mail_throttle: AttemptThrottle
) -> None:
    """Log a reset link's e-mail for the active account with this address; for any other
    address (or one asked for too often) do nothing, and say nothing different."""
    if not settings.notify.email_enabled:
        log.warning("password reset asked for, but e-mail is not configured (SMTP_HOST)")
        return
    address = passwords.normalise_email(email)
    if mail_throttle.attempt(address) is not None:
        return
    user = await User.get_or_none(email=address)
    if user is None or not user.is_active:
        return
    now = fx.clock.now()
    expires_at = now + timedelta(seconds=settings.password_reset_ttl_seconds)
    async with in_transaction() as conn:
        reset_id = await store.next_id(conn)
        nonce = secrets.token_urlsafe(24)
        digest = token_hash(reset_token(settings.reset_key, reset_id, nonce))
        await store.insert(conn, reset_id, user.id, nonce, digest, now, expires_at)
        await notify_log.queue(
            conn,
            key=f"password-reset-{reset_id}",
            event_type=EVENT_TYPE,
            user_id=user.id,
            envelope={"type": EVENT_TYPE, "at": now.isoformat(), "data": {"reset_id": reset_id}},
            target=TARGET,
            channel="email",
            due_at=now,
            stale_at=expires_at,
        )
    fx.deliveries_queued()


async def confirm_reset(fx: Effects, token: str, password: str) -> User:
    """Set the new password with a link's token, spend it (and the member's other links), end
    every session and token of the account."""
    now = fx.clock.now()
    reset = await store.by_token_hash(token_hash(token))
    if reset is None:
        raise Problem.RESET_TOKEN_INVALID.error("This link is not one we sent.")
    ensure_usable(reset.used_at, reset.expires_at, now)
    user = await User.get_or_none(id=reset.user_id)
    if user is None:
        raise Problem.RESET_TOKEN_INVALID.error("This link is not one we sent.")
    if not user.is_active:
        raise AccountInactiveError()
    password_hash = await passwords.hash_password(password)  # slow: outside the transaction
    async with in_transaction() as conn:
        if not await store.spend(conn, reset, fx.clock.now()):
            raise Problem.RESET_TOKEN_INVALID.error("This link was already used.")
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"], using_db=conn)
        await audit.record(conn, user.id, "password_reset", "user", user.id, None, None, None)
    await refresh.revoke_user(user.id, now=now)
    await end_access(fx, user.id)
    return user
