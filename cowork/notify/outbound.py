"""Outbound-address guard: where a request to an address a client chose may go.

A Web Push endpoint (later an outgoing webhook URL) is chosen by a client, so a server that
POSTs to it could be aimed at itself or its network (SSRF). In production only `https` to
public addresses is allowed, checked on the addresses the name resolves to (every one of them)
and again at connect time (aiohttp resolver + per-request hook), so DNS rebinding and redirects
cannot slip past. Optionally the host must be on an allow-list. Dev and test allow loopback
so that tests can run a local push service.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges never reachable from a push request, beyond what `is_global` already excludes; named
# so the refusal says why. CGNAT and the cloud metadata addresses are the usual surprises.
_BLOCKED: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = (
    ("cgnat", ipaddress.ip_network("100.64.0.0/10")),
    ("metadata", ipaddress.ip_network("169.254.169.254/32")),
    ("metadata", ipaddress.ip_network("fd00:ec2::254/128")),
    ("benchmarking", ipaddress.ip_network("198.18.0.0/15")),
    ("nat64", ipaddress.ip_network("64:ff9b:1::/48")),
)


class OutboundRefusedError(ValueError):
    """The address may not be contacted; `reason` is a stable word for logs and problems."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    https_only: bool = True
    allow_loopback: bool = False
    # Host names (lower case) or suffixes written `*.example.com`; empty: any public host.
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def for_env(cls, production: bool, allowed_hosts: Iterable[str] = ()) -> OutboundPolicy:
        hosts = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        return cls(https_only=production, allow_loopback=not production, allowed_hosts=hosts)


def address_class(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (e.g. "loopback", "private"), or None."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:  # ::ffff:127.0.0.1, 2002:7f00:1::, 64:ff9b::7f00:1 …
        inner = address_class(embedded)
        return f"{inner} (ipv4 inside ipv6)" if inner else None
    for name, network in _BLOCKED:
        if ip.version == network.version and ip in network:
            return name
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if ip.is_global else "not-global"


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64: the last 32 bits are the target
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in ipaddress.ip_network("::/96") and int(ip) > 1:  # deprecated IPv4-compatible
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class OutboundGuard:
    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    def check_url(self, url: str) -> tuple[str, int]:
        """Scheme, host and (when the host is a literal) address; returns (host, port)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise OutboundRefusedError("malformed", "not a valid URL") from exc
        scheme = parts.scheme.lower()
        allowed = ("https",) if self.policy.https_only else ("https", "http")
        if scheme not in allowed:
            raise OutboundRefusedError("scheme", f"only {' or '.join(allowed)} URLs are allowed")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise OutboundRefusedError("malformed", "the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise OutboundRefusedError("malformed", "credentials in the URL are not allowed")
        self._check_host_allowed(host)
        literal = _literal(host)
        if literal is not None:
            self.check_address(literal)
        return host, port or (443 if scheme == "https" else 80)

    def check_address(self, ip: IPAddress) -> None:
        why = address_class(ip)
        if why is None:
            return
        if self.policy.allow_loopback and why == "loopback":
            return
        raise OutboundRefusedError(why.split(" ")[0], f"{ip} is not a public address ({why})")

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to, each checked; unresolvable names are refused."""
        literal = _literal(host)
        if literal is not None:
            self.check_address(literal)
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundRefusedError("unresolvable", f"{host} does not resolve") from exc
        found: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in found:
                found.append(ip)
        if not found:
            raise OutboundRefusedError("unresolvable", f"{host} does not resolve")
        for ip in found:  # all of them: a hostile name may mix a public and a private answer
            self.check_address(ip)
        return found

    async def check(self, url: str) -> list[IPAddress]:
        """The whole check of a URL before it is stored or contacted."""
        host, port = self.check_url(url)
        return await self.resolve(host, port)

    def _check_host_allowed(self, host: str) -> None:
        allowed = self.policy.allowed_hosts
        if not allowed or host in allowed:
            return
        if any(p.startswith("*.") and host.endswith(p[1:]) for p in allowed):
            return
        raise OutboundRefusedError("host", f"{host} is not an allowed push service")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that connects only to addresses the guard accepts."""

    def __init__(self, guard: OutboundGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


def guarded_session(guard: OutboundGuard, *, limit: int, timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session whose every request (redirects too) passes the guard.

    aiohttp skips the resolver for literal IPs, so the URL of each request is also checked when
    it starts, and the target of each redirect before it is followed.
    """

    async def on_start(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        guard.check_url(str(params.url))

    async def on_redirect(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        location = params.response.headers.get("Location", "")
        try:
            guard.check_url(urljoin(str(params.url), location))
        except OutboundRefusedError:
            params.response.close()
            raise

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard), limit=limit)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        trace_configs=[trace],
    )
