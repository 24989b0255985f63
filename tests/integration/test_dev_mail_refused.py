"""/dev/mail exists in `cowork dev` only (tests/e2e/test_dev_mail.py shows it working)."""

from __future__ import annotations


async def test_outside_dev_the_mail_page_does_not_exist(client):
    """Fails if a production (or test) node shows the mail it sent to anyone who asks."""
    for path in ("/dev/mail", "/dev/mail/anything"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
