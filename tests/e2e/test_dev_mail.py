"""`cowork dev`'s mail sink and its page: the e-mails a dev node sends reach the local aiosmtpd
(the real child process `cowork dev` starts) and /dev/mail lists them; outside dev the page
does not exist. (A dev node runs as its own process: in dev a stopping node arms a watchdog
that would end the test process.)"""

from __future__ import annotations

import re

import httpx
import pytest

from cowork.devstack import DEV_SENDER, start_mail_sink
from cowork.notify.devmail import dev_mail_dir
from tests.e2e.test_booking_race import bearer
from tests.factories import make_location, make_space, make_user
from tests.integration.test_bookings import at, slot
from tests.notify_fakes import delete_consumer
from tests.polling import poll

pytestmark = pytest.mark.e2e


@pytest.fixture
def sink(tmp_path):
    data_dir = tmp_path / "data"
    child, port = start_mail_sink(data_dir / "run", dev_mail_dir(data_dir))
    yield data_dir, port
    child.stop()


@pytest.fixture
async def dev_env(infra, sink):
    data_dir, port = sink
    await delete_consumer(infra.nats_url, "cowork-notify")
    yield {
        "COWORK_ENV": "dev",
        "COWORK_DATA_DIR": str(data_dir),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_TLS": "none",
        "MAIL_FROM": DEV_SENDER,
    }
    await delete_consumer(infra.nats_url, "cowork-notify")


async def test_the_dev_mail_page_lists_what_the_sink_received(orm, cluster, dev_env):
    """Fails if mail sent in dev is nowhere to be seen: the sink does not store it, or the
    page does not list its subject, recipient and text, or the raw link is broken."""
    node = cluster("dev-mail", **dev_env)
    space = await make_space(await make_location(name="Brera Hub"), name="Desk 7")
    member = await make_user(email="ada@example.com")
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        assert "No mail yet." in (await client.get("/dev/mail")).text
        r = await client.post(
            f"/api/v1/spaces/{space.id}/bookings", json=slot(at(48)), headers=bearer(member.id)
        )
        assert r.status_code == 201, r.text

        async def page() -> httpx.Response:
            return await client.get("/dev/mail")

        shown = await poll(page, lambda p: "Booking confirmed: Desk 7" in p.text)
        assert "To ada@example.com" in shown.text and "Brera Hub" in shown.text
        assert f"booking-{r.json()['id']}.ics" in shown.text
        assert shown.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in shown.headers["content-security-policy"]
        (key,) = re.findall(r'href="/dev/mail/([^"]+)"', shown.text)
        source = await client.get(f"/dev/mail/{key}")
        assert source.status_code == 200
        assert source.headers["content-type"].startswith("text/plain")
        assert "Subject: Booking confirmed: Desk 7" in source.text
        assert (await client.get("/dev/mail/no-such-message")).status_code == 404
