"""Standard Webhooks signatures (PyPI `standardwebhooks`): secrets and the three headers."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
USER_AGENT = "cowork-webhooks/1"


def new_secret() -> str:
    """`whsec_` + base64 of random bytes, the form every Standard Webhooks library reads."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """`webhook-id` (the same on every retry and replay, for the receiver to deduplicate),
    `webhook-timestamp` (this attempt, seconds) and `webhook-signature` (v1, HMAC-SHA256)."""
    at = at.astimezone(UTC)  # the library reads the instant as UTC whatever its zone
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
