import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from cowork.accounts.refresh import new_token, token_hash
from cowork.accounts.tokens import (
    InvalidTokenError,
    Principal,
    Role,
    TokenKind,
    issue,
    utcnow,
    verify,
)

SECRET = "unit-test-secret-" + "y" * 32
# PyJWT also checks `iat` against the wall clock, so tokens are issued at the real now;
# `verify(now=...)` then moves the clock forward for the expiry check.
NOW = utcnow()


@pytest.fixture(autouse=True)
def _fresh_now():
    """Tokens are also checked against the wall clock: take `NOW` when each test starts."""
    global NOW
    NOW = utcnow()


ALICE = Principal(7, Role.MANAGER)


def reason(token, kind=TokenKind.ACCESS, secret=SECRET, now=None):
    with pytest.raises(InvalidTokenError) as err:
        verify(secret, token, kind, now=now or NOW)
    return err.value.reason


def test_round_trip():
    token = issue(SECRET, ALICE, TokenKind.ACCESS, 900, now=NOW)
    assert verify(SECRET, token, TokenKind.ACCESS, now=NOW) == ALICE
    assert verify(SECRET, token, TokenKind.ACCESS, now=NOW + timedelta(seconds=899)) == ALICE


def test_expired_at_its_ttl():
    token = issue(SECRET, ALICE, TokenKind.ACCESS, 900, now=NOW)
    assert reason(token, now=NOW + timedelta(seconds=900)) == "token_expired"


def test_expired_by_the_wall_clock():
    token = issue(SECRET, ALICE, TokenKind.ACCESS, 60, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert reason(token, now=None) == "token_expired"


def test_wrong_kind():
    stream = issue(SECRET, ALICE, TokenKind.STREAM, 300, now=NOW)
    assert reason(stream, kind=TokenKind.ACCESS) == "token_wrong_kind"
    access = issue(SECRET, ALICE, TokenKind.ACCESS, 300, now=NOW)
    assert reason(access, kind=TokenKind.STREAM) == "token_wrong_kind"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_tampered_payload_is_refused():
    header, payload, signature = issue(SECRET, ALICE, TokenKind.ACCESS, 900, now=NOW).split(".")
    claims = json.loads(_unb64(payload))
    claims["role"] = "admin"
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    assert reason(forged) == "token_invalid"


def test_tampered_signature_is_refused():
    token = issue(SECRET, ALICE, TokenKind.ACCESS, 900, now=NOW)
    head, _, signature = token.rpartition(".")
    flipped = _b64(bytes(b ^ 1 for b in _unb64(signature)))
    assert reason(f"{head}.{flipped}") == "token_invalid"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x", "é.é.é"])
def test_garbage_is_refused(garbage):
    assert reason(garbage) == "token_invalid"


def test_other_secret_is_refused():
    token = issue("another-secret-" + "z" * 32, ALICE, TokenKind.ACCESS, 900, now=NOW)
    assert reason(token) == "token_invalid"


def test_unsigned_token_is_refused():
    claims = {
        "iss": "cowork",
        "sub": "7",
        "role": "admin",
        "typ": "access",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 900,
    }
    token = jwt.encode(claims, key=None, algorithm="none")
    assert reason(token) == "token_invalid"


@pytest.mark.parametrize(
    "change",
    [
        {"role": "owner"},
        {"sub": "not-a-number"},
        {"iss": "someone-else"},
        {"typ": None},
        {"exp": None},
        {"sub": None},
    ],
)
def test_bad_claims_are_refused(change):
    claims = {
        "iss": "cowork",
        "sub": "7",
        "role": "member",
        "typ": "access",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 900,
    }
    for key, value in change.items():
        if value is None:
            del claims[key]
        else:
            claims[key] = value
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert reason(token) in {"token_invalid", "token_wrong_kind"}


def test_refresh_tokens_are_random_and_stored_as_sha256():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    token = tokens.pop()
    assert len(token) == 43  # 32 bytes, urlsafe base64 without padding
    digest = token_hash(token)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert token_hash(token) == digest
    assert token not in digest
