"""Web Push (RFC 8030/8291/8292) through pywebpush: VAPID, aes128gcm, TTL, Urgency, Topic."""

from __future__ import annotations

import json

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from cowork.clock import Clock
from cowork.domain.delivery import Outcome
from cowork.notify.channels import SendResult, http_result
from cowork.notify.outbound import OutboundGuard, OutboundRefusedError, guarded_session
from cowork.notify.render import PushMessage
from cowork.store.notify import DeviceRow


class WebPushSender:
    kind = "webpush"

    def __init__(
        self,
        vapid: Vapid,
        subject: str,
        guard: OutboundGuard,
        clock: Clock,
        *,
        timeout: float,
        connections: int,
    ) -> None:
        self._vapid = vapid
        self._subject = subject
        self._guard = guard
        self._clock = clock
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = guarded_session(self._guard, limit=self._connections, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, device: DeviceRow, message: PushMessage) -> SendResult:
        assert self._session is not None, "open() first"
        subscription = {
            "endpoint": device.address,
            "keys": {"p256dh": device.p256dh or "", "auth": device.auth or ""},
        }
        headers = {"Urgency": "high" if message.urgent else "normal", "Topic": message.topic}
        try:
            # Claims are a fresh dict each time: pywebpush fills `aud` and `exp` in place.
            response = await webpush_async(
                subscription_info=subscription,
                data=json.dumps(message.data, separators=(",", ":")),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._subject},
                content_encoding="aes128gcm",
                ttl=message.ttl,
                headers=headers,
                aiohttp_session=self._session,
                timeout=self._timeout,
            )
        except WebPushException as exc:
            answer = exc.response
            status = getattr(answer, "status", None)
            retry_after = answer.headers.get("Retry-After") if answer is not None else None
            return http_result(status, retry_after, self._clock.now(), detail=str(exc))
        except OutboundRefusedError as exc:
            return SendResult(Outcome.FAILED, detail=f"refused: {exc.detail}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return http_result(None, None, self._clock.now(), detail=repr(exc))
        status = getattr(response, "status", None)
        return http_result(status, None, self._clock.now())
