"""The outbound guard: each class of address a client could aim a push at, and the connect-time
checks (resolver, redirects) that a URL check alone would miss."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from cowork.notify.outbound import (
    OutboundGuard,
    OutboundPolicy,
    OutboundRefusedError,
    address_class,
    guarded_session,
)

PRODUCTION = OutboundGuard(OutboundPolicy.for_env(production=True))
DEV = OutboundGuard(OutboundPolicy.for_env(production=False))


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.64.0.1", "cgnat"),
        ("100.100.100.200", "cgnat"),  # Alibaba's metadata address sits in CGNAT space
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("198.18.0.1", "benchmarking"),
        ("192.0.2.1", "private"),  # TEST-NET documentation range
        ("::ffff:127.0.0.1", "loopback (ipv4 inside ipv6)"),
        ("::ffff:10.0.0.1", "private (ipv4 inside ipv6)"),
        ("::ffff:169.254.169.254", "metadata (ipv4 inside ipv6)"),
        ("64:ff9b::7f00:1", "loopback (ipv4 inside ipv6)"),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", "loopback (ipv4 inside ipv6)"),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", "loopback (ipv4 inside ipv6)"),  # deprecated IPv4-compatible
    ],
)
def test_non_public_addresses_are_named(address: str, why: str) -> None:
    assert address_class(ipaddress.ip_address(address)) == why
    with pytest.raises(OutboundRefusedError):
        PRODUCTION.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.180.10", "2a00:1450:4002:402::200e"])
def test_public_addresses_pass(address: str) -> None:
    assert address_class(ipaddress.ip_address(address)) is None
    PRODUCTION.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://push.example.com/x", "scheme"),
        ("ftp://push.example.com/x", "scheme"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]:8443/x", "loopback"),
        ("https://[::ffff:7f00:1]/x", "loopback"),
        ("https://10.0.0.8/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://user:pw@push.example.com/x", "malformed"),
        ("https:///nohost", "malformed"),
        ("https://push.example.com:99999/x", "malformed"),
    ],
)
def test_production_refuses_urls(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefusedError) as info:
        PRODUCTION.check_url(url)
    assert info.value.reason == reason


async def test_names_are_checked_after_resolution() -> None:
    # `localhost` is a name, not a literal: only resolving it shows it is loopback.
    with pytest.raises(OutboundRefusedError) as info:
        await PRODUCTION.check("https://localhost/push")
    assert info.value.reason == "loopback"
    with pytest.raises(OutboundRefusedError) as info:
        await PRODUCTION.check("https://does-not-exist.invalid/push")
    assert info.value.reason == "unresolvable"


async def test_dev_and_test_allow_loopback_only() -> None:
    assert await DEV.check("http://localhost:8080/push") != []
    DEV.check_url("http://127.0.0.1:9/push")
    with pytest.raises(OutboundRefusedError):
        DEV.check_url("http://10.0.0.1/push")  # private stays refused: only loopback is opened


def test_allow_list_of_push_hosts() -> None:
    guard = OutboundGuard(
        OutboundPolicy.for_env(True, ["fcm.googleapis.com", "*.push.services.mozilla.com"])
    )
    guard.check_url("https://fcm.googleapis.com/fcm/send/abc")
    guard.check_url("https://updates.push.services.mozilla.com/wpush/v2/abc")
    for url in ("https://evil.example.com/x", "https://push.services.mozilla.com.evil.com/x"):
        with pytest.raises(OutboundRefusedError) as info:
            guard.check_url(url)
        assert info.value.reason == "host"


@pytest.fixture
async def local_server() -> AsyncIterator[str]:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(status=201)

    async def bounce(_: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("http://10.255.255.1/inside")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/bounce", bounce)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_session_refuses_at_connect_time(local_server: str) -> None:
    """A name that resolves to loopback is refused by the resolver itself (no TOCTOU)."""
    port = local_server.split(":")[1]
    lenient_url_check = OutboundGuard(OutboundPolicy(https_only=False, allow_loopback=False))
    async with guarded_session(lenient_url_check, limit=2, timeout=5) as session:
        with pytest.raises(OutboundRefusedError):
            await session.post(f"http://localhost:{port}/ok")
    async with (
        guarded_session(DEV, limit=2, timeout=5) as session,
        session.post(f"http://localhost:{port}/ok") as answer,
    ):
        assert answer.status == 201


async def test_redirect_to_a_private_literal_is_refused(local_server: str) -> None:
    """aiohttp skips the resolver for literal IPs: the per-request hook must catch them."""
    async with guarded_session(DEV, limit=2, timeout=5) as session:
        with pytest.raises(OutboundRefusedError) as info:
            await session.post(f"http://{local_server}/bounce")
    assert info.value.reason == "private"
    assert not isinstance(info.value, aiohttp.ClientError)
