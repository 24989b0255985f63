"""Firebase Cloud Messaging HTTP v1, authenticated with a service account (OAuth2 JWT bearer).

The token exchange is RFC 7523: a JWT signed with the account's RSA key, posted to its
`token_uri`, buys an access token for an hour. One signed JWT with pyjwt is all it takes, so we
do not pull in google-auth (whose refresh is synchronous).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from cowork.clock import Clock
from cowork.notify.channels import SendResult, http_result
from cowork.notify.render import PushMessage
from cowork.store.notify import DeviceRow

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_MARGIN = timedelta(minutes=5)  # renew before Google would refuse the old token


class FcmConfigError(ValueError):
    """The service-account file is missing a field or is not JSON."""


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    token_uri: str

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccount:
        try:
            info = json.loads(Path(path).read_text())
            return cls(
                info["project_id"], info["client_email"], info["private_key"], info["token_uri"]
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FcmConfigError(f"FCM credentials {path}: {exc}") from exc


class FcmSender:
    kind = "fcm"

    def __init__(
        self,
        account: ServiceAccount,
        api_base: str,
        clock: Clock,
        *,
        timeout: float,
        connections: int,
    ) -> None:
        self._account = account
        self._url = f"{api_base.rstrip('/')}/v1/projects/{account.project_id}/messages:send"
        self._clock = clock
        self._timeout = timeout
        self._connections = connections
        self._http: httpx.AsyncClient | None = None
        self._token: tuple[str, datetime] | None = None
        self._token_lock = asyncio.Lock()

    async def open(self) -> None:
        limits = httpx.Limits(max_connections=self._connections)
        self._http = httpx.AsyncClient(timeout=self._timeout, limits=limits, http2=True)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def access_token(self) -> str:
        """A cached OAuth2 access token, exchanged again shortly before it expires."""
        async with self._token_lock:
            now = self._clock.now()
            if self._token is not None and self._token[1] - TOKEN_MARGIN > now:
                return self._token[0]
            assert self._http is not None, "open() first"
            account = self._account
            issued = int(now.timestamp())
            assertion = jwt.encode(
                {
                    "iss": account.client_email,
                    "scope": SCOPE,
                    "aud": account.token_uri,
                    "iat": issued,
                    "exp": issued + 3600,
                },
                account.private_key,
                algorithm="RS256",
            )
            answer = await self._http.post(
                account.token_uri, data={"grant_type": GRANT, "assertion": assertion}
            )
            answer.raise_for_status()
            body = answer.json()
            expires = now + timedelta(seconds=int(body.get("expires_in", 3600)))
            self._token = (str(body["access_token"]), expires)
            return self._token[0]

    async def send(self, device: DeviceRow, message: PushMessage) -> SendResult:
        assert self._http is not None, "open() first"
        try:
            answer = await self._post(device, message)
            if answer.status_code == 401:  # revoked or expired early: exchange again, once
                self._token = None
                answer = await self._post(device, message)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return http_result(None, None, self._clock.now(), detail=repr(exc))
        return http_result(
            answer.status_code,
            answer.headers.get("retry-after"),
            self._clock.now(),
            unregistered=_unregistered(answer),
            detail="" if answer.is_success else answer.text,
        )

    async def _post(self, device: DeviceRow, message: PushMessage) -> httpx.Response:
        assert self._http is not None
        token = await self.access_token()
        return await self._http.post(
            self._url,
            json={"message": fcm_message(device.address, message)},
            headers={"Authorization": f"Bearer {token}"},
        )


def fcm_message(token: str, message: PushMessage) -> dict[str, Any]:
    """The v1 `Message`: a notification, its data as strings, collapse key, TTL, priority."""
    return {
        "token": token,
        "notification": {"title": message.title, "body": message.body},
        "data": {k: "" if v is None else str(v) for k, v in message.data.items()},
        "android": {
            "collapse_key": message.topic,
            "priority": "HIGH" if message.urgent else "NORMAL",
            "ttl": f"{message.ttl}s",
        },
        "apns": {"headers": {"apns-collapse-id": message.topic}},
        "webpush": {"headers": {"TTL": str(message.ttl), "Topic": message.topic}},
    }


def _unregistered(answer: httpx.Response) -> bool:
    """FCM says a token is dead with errorCode UNREGISTERED in the error details."""
    if answer.is_success:
        return False
    try:
        details = answer.json().get("error", {}).get("details", [])
    except ValueError:
        return False
    return any(isinstance(d, dict) and d.get("errorCode") == "UNREGISTERED" for d in details)
