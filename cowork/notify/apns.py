"""Apple Push Notification service, token-based (a .p8 key signs an ES256 provider token),
over HTTP/2 with httpx. The host is configurable (production, sandbox, or a local fake)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from cowork.clock import Clock
from cowork.notify.channels import SendResult, http_result
from cowork.notify.render import PushMessage
from cowork.store.notify import DeviceRow

# Apple refuses tokens older than an hour and throttles ones renewed more often than every
# 20 minutes.
TOKEN_LIFETIME = timedelta(minutes=50)
# Reasons (in a 400 body) that mean this token will never work again for this app.
DEAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"})
STALE_PROVIDER_TOKEN = frozenset({"ExpiredProviderToken", "InvalidProviderToken"})


class ApnsSender:
    kind = "apns"

    def __init__(
        self,
        *,
        key_pem: str,
        key_id: str,
        team_id: str,
        default_topic: str,
        host: str,
        clock: Clock,
        timeout: float,
        connections: int,
    ) -> None:
        self._key = key_pem
        self._key_id = key_id
        self._team_id = team_id
        self._default_topic = default_topic
        self._host = host.rstrip("/")
        self._clock = clock
        self._timeout = timeout
        self._connections = connections
        self._http: httpx.AsyncClient | None = None
        self._token: tuple[str, datetime] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def key_from_file(cls, path: str) -> str:
        return Path(path).read_text()

    async def open(self) -> None:
        # APNs speaks only HTTP/2: over https ALPN must pick h2; over http (a local fake) it is
        # h2c with prior knowledge.
        self._http = httpx.AsyncClient(
            http1=False,
            http2=True,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=self._connections),
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def provider_token(self) -> str:
        async with self._lock:
            now = self._clock.now()
            if self._token is not None and now - self._token[1] < TOKEN_LIFETIME:
                return self._token[0]
            token = jwt.encode(
                {"iss": self._team_id, "iat": int(now.timestamp())},
                self._key,
                algorithm="ES256",
                headers={"kid": self._key_id},
            )
            self._token = (token, now)
            return token

    async def send(self, device: DeviceRow, message: PushMessage) -> SendResult:
        assert self._http is not None, "open() first"
        try:
            answer = await self._post(device, message)
            if answer.status_code == 403 and _reason(answer) in STALE_PROVIDER_TOKEN:
                self._token = None
                answer = await self._post(device, message)
        except (httpx.HTTPError, ValueError) as exc:
            return http_result(None, None, self._clock.now(), detail=repr(exc))
        reason = _reason(answer)
        return http_result(
            answer.status_code,
            answer.headers.get("retry-after"),
            self._clock.now(),
            unregistered=reason in DEAD_TOKEN_REASONS,
            detail=reason,
        )

    async def _post(self, device: DeviceRow, message: PushMessage) -> httpx.Response:
        assert self._http is not None
        now = self._clock.now()
        headers = {
            "authorization": f"bearer {await self.provider_token()}",
            "apns-topic": device.topic or self._default_topic,
            "apns-push-type": "alert",
            "apns-priority": "10" if message.urgent else "5",
            "apns-expiration": str(int(now.timestamp()) + message.ttl if message.ttl else 0),
            "apns-collapse-id": message.topic,
        }
        return await self._http.post(
            f"{self._host}/3/device/{device.address}",
            content=json.dumps(apns_payload(message)).encode(),
            headers=headers,
        )


def apns_payload(message: PushMessage) -> dict[str, Any]:
    return {
        "aps": {
            "alert": {"title": message.title, "body": message.body},
            "sound": "default",
            "thread-id": message.data.get("tag", ""),
            "interruption-level": "time-sensitive" if message.urgent else "active",
        },
        "cowork": {k: v for k, v in message.data.items() if k not in ("title", "body")},
    }


def _reason(answer: httpx.Response) -> str:
    if answer.is_success or not answer.content:
        return ""
    try:
        return str(answer.json().get("reason", ""))
    except ValueError:
        return ""
