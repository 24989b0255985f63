"""`cowork dev`'s mail sink and its page: the e-mails a node sends reach the local aiosmtpd
(the real child process `cowork dev` starts) and /dev/mail lists them; outside dev the page
does not exist."""

from __future__ import annotations

import re

import httpx
import pytest

from cowork.config import Environment
from cowork.devstack import DEV_SENDER, start_mail_sink
from cowork.notify.devmail import dev_mail_dir
from tests.conftest import test_settings as settings_for
from tests.factories import auth, make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import delete_consumer, notify_settings
from tests.polling import poll


@pytest.fixture
def sink(tmp_path):
    data_dir = tmp_path / "data"
    child, port = start_mail_sink(data_dir / "run", dev_mail_dir(data_dir))
    yield data_dir, port
    child.stop()


@pytest.fixture
async def settings(database_url, infra, sink):
    data_dir, port = sink
    s = settings_for(
        database_url,
        infra.nats_url,
        env=Environment.DEV,
        data_dir=data_dir,
        notify=notify_settings(
            worker=True,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_tls="none",
            mail_from=DEV_SENDER,
        ),
    )
    yield s
    await delete_consumer(infra.nats_url, s.notify.consumer)


async def test_the_dev_mail_page_lists_what_the_sink_received(server, client):
    """Fails if mail sent in dev is nowhere to be seen: the sink does not store it, or the
    page does not list its subject, recipient and text, or the raw link is broken."""
    assert "No mail yet." in (await client.get("/dev/mail")).text
    space = await make_space(await make_location(name="Brera Hub"), name="Desk 7")
    member = await make_user(email="ada@example.com")
    r = await client.post(
        f"/api/v1/spaces/{space.id}/bookings",
        json=slot(at(48)),
        headers=auth(server.settings, member),
    )
    assert r.status_code == 201, r.text

    async def page() -> str:
        return (await client.get("/dev/mail")).text

    text = await poll(page, lambda body: "Booking confirmed: Desk 7" in body)
    assert "To ada@example.com" in text and "Brera Hub" in text
    assert f"booking-{r.json()['id']}.ics" in text
    r = await client.get("/dev/mail")
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    (key,) = re.findall(r'href="/dev/mail/([^"]+)"', text)
    source = await client.get(f"/dev/mail/{key}")
    assert source.status_code == 200 and source.headers["content-type"].startswith("text/plain")
    assert "Subject: Booking confirmed: Desk 7" in source.text
    assert (await client.get("/dev/mail/no-such-message")).status_code == 404


async def test_outside_dev_the_page_does_not_exist(settings, database_url, infra):
    """Fails if a production (or test) node shows the mail it sent to anyone who asks."""
    from tests.conftest import start_server, stop_server

    running, srv = await start_server(settings_for(database_url, infra.nats_url))
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:
            for path in ("/dev/mail", "/dev/mail/anything"):
                r = await client.get(path)
                assert r.status_code == 404
                assert r.json()["code"] == "not_found"
    finally:
        await stop_server(srv)
