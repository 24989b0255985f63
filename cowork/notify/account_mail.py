"""E-mails about an account rather than a booking (a password reset link), rendered when the
delivery worker sends them: the link's token is derived from the stored row and the key."""

from __future__ import annotations

import math
from datetime import datetime
from email.message import EmailMessage

from cowork.domain.password_reset import reset_token
from cowork.notify.mails import compose, password_reset_mail
from cowork.store import resets
from cowork.store.notify import Recipient

PASSWORD_RESET = "account.password_reset"
ACCOUNT_EVENTS = frozenset({PASSWORD_RESET})


async def account_message(
    event_type: str,
    data: dict[str, object],
    who: Recipient,
    *,
    key: bytes,
    public_url: str,
    sender: str,
    now: datetime,
) -> EmailMessage | None:
    """The e-mail to send now; None when it no longer makes sense (the link was used, or
    expired while the mail waited)."""
    if event_type != PASSWORD_RESET:
        return None
    reset_id = data.get("reset_id")
    reset = await resets.get(reset_id) if isinstance(reset_id, int) else None
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    token = reset_token(key, reset.id, reset.nonce)
    minutes = math.ceil((reset.expires_at - reset.created_at).total_seconds() / 60)
    mail = password_reset_mail(
        name=who.name,
        link=f"{public_url}/#password-reset={token}",
        ttl_minutes=minutes,
        locale=who.prefs.locale,
    )
    return compose(mail, to=who.email, sender=sender, now=now)
