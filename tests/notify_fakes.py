"""Providers written for the tests (no tests here): a Web Push service and the browser that
decrypts what it gets, FCM with its OAuth token endpoint, APNs over HTTP/2, an SMTP sink; and a
running delivery worker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import http_ece
import jwt
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypercorn.asyncio import serve
from hypercorn.config import Config

from cowork.clock import Clock, SystemClock
from cowork.config import NotifySettings, Settings
from cowork.devstack import free_port
from cowork.metrics import Metrics
from cowork.notify.worker import DeliveryWorker
from cowork.realtime.bus import Bus
from cowork.realtime.stream import STREAM


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class HttpFake:
    """An aiohttp server on a free port that records requests and answers from a script."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.received: list[Received] = []
        self.answers: deque[tuple[int, dict[str, str], bytes]] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def answer_next(
        self, status: int, headers: dict[str, str] | None = None, body: Any = b""
    ) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self.answers.append((status, headers or {}, raw))

    def reply(self, default: int) -> web.Response:
        status, headers, body = self.answers.popleft() if self.answers else (default, {}, b"")
        return web.Response(status=status, headers=headers, body=body)

    async def record(self, request: web.Request) -> Received:
        got = Received(
            request.path_qs,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        self.received.append(got)
        return got

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class PushService(HttpFake):
    """RFC 8030 push service: `POST /push/{id}` with an encrypted body, 201 Created."""

    def __init__(self) -> None:
        super().__init__()
        self.on_request: Any = None  # an async hook run before answering (fault injection)
        self.app.router.add_post("/push/{id}", self._push)

    async def _push(self, request: web.Request) -> web.Response:
        await self.record(request)
        if self.on_request is not None:
            await self.on_request()
        return self.reply(201)


class Browser:
    """The subscribing side: its P-256 key pair and auth secret, and decryption (RFC 8291)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def vapid_claims(authorization: str, public_key: str) -> dict[str, Any]:
    """Check `vapid t=<jwt>, k=<key>` (RFC 8292): the key is ours and signed the token."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "vapid", authorization
    params = dict(p.strip().split("=", 1) for p in rest.split(","))
    assert params["k"] == public_key
    point = unb64url(params["k"])
    verifying = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return jwt.decode(params["t"], verifying, algorithms=["ES256"], options={"verify_aud": False})


class FakeFcm(HttpFake):
    """FCM HTTP v1 plus Google's OAuth2 token endpoint, with a service account of its own."""

    PROJECT = "cowork-test"

    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = "push@cowork-test.iam.gserviceaccount.com"
        self.tokens: list[str] = []
        self.exchanges: list[dict[str, Any]] = []
        self.app.router.add_post("/token", self._token)
        self.app.router.add_post("/v1/projects/{project}/messages:send", self._send)

    def credentials(self, directory: Path) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = directory / "fcm-service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": self.PROJECT,
                    "client_email": self.email,
                    "private_key": pem,
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            str(form["assertion"]),
            self.key.public_key(),
            algorithms=["RS256"],
            audience=f"{self.url}/token",
        )
        self.exchanges.append(claims)
        if claims["iss"] != self.email or "firebase.messaging" not in claims["scope"]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = f"ya29.test-{len(self.tokens)}"
        self.tokens.append(token)
        return web.json_response({"access_token": token, "expires_in": 3599})

    async def _send(self, request: web.Request) -> web.Response:
        got = await self.record(request)
        if request.match_info["project"] != self.PROJECT:
            return web.json_response({"error": {"code": 404}}, status=404)
        if got.headers.get("authorization") not in {f"Bearer {t}" for t in self.tokens}:
            return web.json_response({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, 401)
        if self.answers:
            return self.reply(200)
        return web.json_response({"name": f"projects/{self.PROJECT}/messages/1"})


UNREGISTERED = {
    "error": {
        "code": 404,
        "status": "NOT_FOUND",
        "details": [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": "UNREGISTERED",
            }
        ],
    }
}


class FakeApns:
    """APNs over HTTP/2 (h2c): `POST /3/device/{token}` with a provider token (ES256)."""

    TEAM = "TEAM123456"
    KEY_ID = "KEY1234567"

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.received: list[Received] = []
        self.versions: list[str] = []
        self.answers: deque[tuple[int, str]] = deque()
        self.url = ""
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def key_file(self, directory: Path) -> Path:
        path = directory / f"AuthKey_{self.KEY_ID}.p8"
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body))
        self.versions.append(scope["http_version"])
        status, reason = self.answers.popleft() if self.answers else (200, "")
        token = headers.get("authorization", "").removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.key.public_key(), algorithms=["ES256"])
            assert header["kid"] == self.KEY_ID and claims["iss"] == self.TEAM
        except (jwt.PyJWTError, AssertionError, KeyError):
            status, reason = 403, "InvalidProviderToken"
        payload = json.dumps({"reason": reason}).encode() if reason else b""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"apns-id", b"00000000-0000-0000-0000-000000000001")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def start(self) -> str:
        port = free_port()
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.errorlog = None
        self._task = asyncio.create_task(
            serve(self._app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]
        )
        self.url = f"http://127.0.0.1:{port}"
        await _wait_listening(port)
        return self.url

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


async def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


class TcpProxy:
    """Forwards a port to another; `cut()` drops every connection and refuses new ones (the
    network between a node and NATS failing)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()


class SmtpSink:
    """aiosmtpd on a free port, collecting every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def smtp_channel(
    sink: SmtpSink, mail_from: str = "cowork <no-reply@cowork.test>"
) -> dict[str, Any]:
    """The notify settings that send mail to `sink`."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_tls": "none",
        "mail_from": mail_from,
    }


def notify_settings(**overrides: Any) -> NotifySettings:
    """Test defaults: a fresh durable per test, a fast pass over held rows, and the node's own
    worker off: these tests run theirs (`running_worker`: an injected clock, faults, kills)."""
    base = {
        "consumer": f"notify-test-{os.urandom(4).hex()}",
        "worker": False,
        "poll_seconds": 0.2,
        "ack_wait_seconds": 5.0,
        "send_timeout_seconds": 5.0,
        "public_url": "https://cowork.test",
    }
    return NotifySettings(**{**base, **overrides})


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings, clock: Clock | None = None, **kwargs: Any
) -> AsyncIterator[DeliveryWorker]:
    """A delivery worker with its own NATS connection (as on a node), stopped afterwards."""
    bus = Bus(settings.nats_url, f"notify-{settings.node_id}")
    await bus.connect()
    worker = DeliveryWorker(settings, clock or SystemClock(), bus, Metrics(), **kwargs)
    try:
        await worker.start()
        yield worker
    finally:
        await worker.stop()
        await bus.close()


async def delete_consumer(nats_url: str, name: str) -> None:
    bus = Bus(nats_url, "notify-cleanup")
    await bus.connect()
    try:
        with contextlib.suppress(Exception):
            await bus.js.delete_consumer(STREAM, name)
    finally:
        await bus.close()
