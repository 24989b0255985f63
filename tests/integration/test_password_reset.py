"""Password reset through the notify mail channel: the link arrives at an SMTP server written
for the test, works once, ends every other session, expires; an unknown address gets the same
answer as a known one; requests are throttled per client address."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cowork.clock import ManualClock
from tests.conftest import notify_test_settings, start_server, stop_server
from tests.integration.test_accounts import PASSWORD, assert_problem, bearer, login, register
from tests.notify_fakes import SmtpSink, notify_settings, smtp_channel
from tests.polling import poll

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"/#password-reset=([\w-]+)")


@pytest.fixture
async def settings(database_url, infra, smtp):
    async with notify_test_settings(
        database_url,
        infra.nats_url,
        notify=notify_settings(
            worker=True,  # the node's own worker sends the mail, as in production
            **smtp_channel(smtp),
        ),
    ) as s:
        yield s


async def ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/password-reset", json={"email": email})


async def confirm(client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD):
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )


async def link_in(smtp: SmtpSink, n: int = 1) -> str:
    await poll(lambda: _mails(smtp), lambda got: got >= n)
    text = smtp.messages[n - 1].get_body(("plain",)).get_content()
    match = LINK.search(text)
    assert match, text
    return match.group(1)


async def _mails(smtp: SmtpSink) -> int:
    return len(smtp.messages)


async def test_a_reset_link_works_once_and_ends_every_session(client, smtp, db):
    """Fails if the mail never arrives, the token is stored as it is, the link works twice, or
    the sessions opened with the old password survive it."""
    await register(client)
    old = await login(client)
    r = await ask(client, "Ada@Example.com")
    assert r.status_code == 202, r.text
    token = await link_in(smtp)
    msg = smtp.messages[0]
    assert msg["To"] == "ada@example.com" and msg["Subject"] == "Reset your cowork password"
    stored = await db.fetchrow("SELECT token_hash, nonce FROM password_resets")
    logged = await db.fetchval("SELECT envelope::text FROM notify_deliveries")
    assert token not in {stored["token_hash"], stored["nonce"]} and token not in logged

    r = await confirm(client, token)
    assert r.status_code == 204, r.text
    assert_problem(await confirm(client, token, "yet another password"), 400, "reset_token_invalid")
    assert_problem(await client.get("/api/v1/me", headers=bearer(old)), 401, "token_revoked")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert_problem(r, 401, "invalid_credentials")
    await login(client, password=NEW_PASSWORD)
    state = await db.fetchval("SELECT state FROM notify_deliveries")
    assert state == "sent"


async def test_an_unknown_address_gets_the_same_answer(client, smtp, db):
    """Fails if the answer (status, body, headers that could differ) tells a stranger whether
    an address has an account, or if a mail goes to an address without one."""
    await register(client)
    known, unknown = await ask(client, "ada@example.com"), await ask(client, "bob@example.com")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    assert set(known.headers) - {"x-request-id", "date"} == set(unknown.headers) - {
        "x-request-id",
        "date",
    }
    await link_in(smtp)
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]
    assert await db.fetchval("SELECT count(*) FROM password_resets") == 1
    assert_problem(await confirm(client, "x" * 43), 400, "reset_token_invalid")


async def test_an_expired_link_fails(settings, smtp):
    """Fails if a link still works after its lifetime."""
    clock = ManualClock(datetime.now(UTC))
    running, srv = await start_server(settings, clock)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
            await register(client)
            assert (await ask(client, "ada@example.com")).status_code == 202
            token = await link_in(smtp)
            assert f"for {settings.password_reset_ttl_seconds // 60} minutes" in (
                smtp.messages[0].get_body(("plain",)).get_content()
            )
            clock.advance(timedelta(seconds=settings.password_reset_ttl_seconds))
            assert_problem(await confirm(client, token), 400, "reset_token_expired")
            await login(client)  # the old password still works
    finally:
        await stop_server(srv)


async def test_reset_requests_are_throttled_per_client_address(settings):
    """Fails if one client can ask for resets without limit (mail flooding, enumeration by
    timing at scale)."""
    running, srv = await start_server(replace(settings, password_resets_per_address_per_hour=2))
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
            for n in range(2):
                assert (await ask(client, f"someone{n}@example.com")).status_code == 202
            r = await ask(client, "someone-else@example.com")
            assert_problem(r, 429, "too_many_attempts")
            assert int(r.headers["retry-after"]) > 0
    finally:
        await stop_server(srv)


async def test_one_inbox_gets_at_most_three_reset_mails_an_hour(client, smtp, db):
    """Fails if a stranger can flood someone's inbox with reset mails (the answer stays 202:
    saying "too many" would tell them the address is real)."""
    await register(client)
    answers = {(await ask(client, "ada@example.com")).status_code for _ in range(5)}
    assert answers == {202}
    await link_in(smtp, 3)
    assert await db.fetchval("SELECT count(*) FROM password_resets") == 3
