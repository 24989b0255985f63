"""VAPID keys (RFC 8292): load the application server's key, publish its public half."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException


class VapidKeyError(ValueError):
    """The configured VAPID private key cannot be read."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def load_vapid(private_key: str) -> Vapid:
    """A PEM block, or base64url of the raw 32-byte scalar or of DER (what `vapid --gen` and
    most web-push tools print)."""
    text = private_key.strip()
    try:
        if text.startswith("-----BEGIN"):
            return Vapid.from_pem(text.encode())
        return Vapid.from_string(text)
    except (VapidException, ValueError, TypeError) as exc:
        raise VapidKeyError("VAPID_PRIVATE_KEY is not a P-256 private key") from exc


def public_key_b64(vapid: Vapid) -> str:
    """The uncompressed public point, base64url: a browser's `applicationServerKey`."""
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def generate_private_key() -> str:
    """A new key as base64url of the raw scalar (for `cowork dev` and the docs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))
