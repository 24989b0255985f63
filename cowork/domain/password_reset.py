"""Password reset links: a derived token (so the mailer can write it, while the stored row
alone opens nothing), single use, short-lived."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from cowork.domain.calendar import token_hash
from cowork.domain.problems import Problem

__all__ = ["ensure_usable", "reset_token", "token_hash"]


def reset_token(key: bytes, reset_id: int, nonce: str) -> str:
    """The secret in a reset link: HMAC(key, id:nonce). What is stored (its sha256 and the
    nonce) opens nothing without the key."""
    mac = hmac.new(key, f"password-reset:{reset_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def ensure_usable(used_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    """A link works once, before it expires (a spent link says so as if it never existed)."""
    if used_at is not None:
        raise Problem.RESET_TOKEN_INVALID.error("This link was already used.")
    if now >= expires_at:
        raise Problem.RESET_TOKEN_EXPIRED.error("This link has expired; ask for a new one.")
