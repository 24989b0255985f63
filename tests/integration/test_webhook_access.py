"""Who may not use the webhooks API: every operation tried by an anonymous client, a member,
a manager of another location and a manager removed from the endpoint's location."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from cowork.store.db import db
from tests.e2e.nodes import JWT_SECRET, node_env, start_node
from tests.factories import auth, make_location, make_user
from tests.webhook_receiver import Receiver
from tests.webhook_support import HOOKS, hooks_node, register

OPERATIONS = [
    ("GET", "/{hook}", None),
    ("PATCH", "/{hook}", {"description": "mine now"}),
    ("DELETE", "/{hook}", None),
    ("GET", "/{hook}/deliveries", None),
    ("GET", "/{hook}/deliveries/1", None),
    ("POST", "/{hook}/deliveries/1/replay", None),
    ("POST", "/{hook}/replay", {"since": "2026-01-01T00:00:00+00:00"}),
]


@pytest.fixture
async def setup(settings):
    async with hooks_node(settings) as node, Receiver() as receiver:
        location, elsewhere = await make_location(), await make_location()
        owner = await make_user("manager", managed=(location,))
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
            hook = await register(http, auth(node.settings, owner), receiver.url, [location.id])
            yield node, http, hook, location, elsewhere, owner


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
async def test_strangers_cannot_reach_an_endpoint(setup, method, path, body):
    """Fails if anyone but the staff of the endpoint's locations can read, change, delete or
    replay it; a manager of another location, or one removed, sees it as missing."""
    node, http, hook, _, elsewhere, owner = setup
    url = HOOKS + path.format(hook=hook["id"])
    r = await http.request(method, url, json=body)
    assert r.status_code == 401
    r = await http.request(method, url, json=body, headers=auth(node.settings, await make_user()))
    assert r.status_code == 403
    other = await make_user("manager", managed=(elsewhere,))
    r = await http.request(method, url, json=body, headers=auth(node.settings, other))
    assert r.status_code == 404 and r.json()["code"] == "webhook_not_found"
    await owner.managed_locations.clear()
    r = await http.request(method, url, json=body, headers=auth(node.settings, owner))
    assert r.status_code == 404 and r.json()["code"] == "webhook_not_found"
    still = await http.get(
        f"{HOOKS}/{hook['id']}", headers=auth(node.settings, await make_user("admin"))
    )
    assert still.json()["description"] == ""  # nothing changed, nothing deleted


async def test_a_manager_cannot_register_a_hook_for_a_location_they_do_not_manage(setup):
    """Fails if a manager can have another location's bookings sent to their own URL."""
    node, http, _, location, elsewhere, owner = setup
    staff = auth(node.settings, owner)
    body = {"url": "http://127.0.0.1:9/x", "events": ["booking.confirmed"]}
    for ids in ([elsewhere.id], [location.id, elsewhere.id]):
        r = await http.post(HOOKS, json={**body, "location_ids": ids}, headers=staff)
        assert r.status_code == 403, ids
    r = await http.post(HOOKS, json={**body, "location_ids": [location.id]})
    assert r.status_code == 401
    member = auth(node.settings, await make_user())
    r = await http.post(HOOKS, json={**body, "location_ids": [location.id]}, headers=member)
    assert r.status_code == 403
    hook = (await http.get(HOOKS, headers=staff)).json()["items"][0]
    r = await http.patch(
        f"{HOOKS}/{hook['id']}", json={"location_ids": [elsewhere.id]}, headers=staff
    )
    assert r.status_code == 403


async def test_the_list_shows_only_endpoints_of_my_locations(setup):
    """Fails if the list leaks another location's endpoints (their URLs) to a manager."""
    node, http, hook, _, elsewhere, owner = setup
    other = await make_user("manager", managed=(elsewhere,))
    assert (await http.get(HOOKS)).status_code == 401
    assert (
        await http.get(HOOKS, headers=auth(node.settings, await make_user()))
    ).status_code == 403
    mine = (await http.get(HOOKS, headers=auth(node.settings, owner))).json()["items"]
    theirs = (await http.get(HOOKS, headers=auth(node.settings, other))).json()["items"]
    assert [h["id"] for h in mine] == [hook["id"]]
    assert theirs == []
    assert all("secret" not in h for h in mine)


async def test_every_integration_operation_is_in_the_openapi_document(setup):
    """Fails if a webhook or calendar feed operation is served but not documented."""
    _, http, *_ = setup
    paths = (await http.get("/docs/openapi.json")).json()["paths"]
    wanted = {
        "/api/v1/manage/webhooks": {"get", "post"},
        "/api/v1/manage/webhooks/{endpoint_id}": {"get", "patch", "delete"},
        "/api/v1/manage/webhooks/{endpoint_id}/deliveries": {"get"},
        "/api/v1/manage/webhooks/{endpoint_id}/deliveries/{delivery_id}": {"get"},
        "/api/v1/manage/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay": {"post"},
        "/api/v1/manage/webhooks/{endpoint_id}/replay": {"post"},
        "/api/v1/me/calendar-feed": {"get", "delete"},
        "/api/v1/me/calendar-feed/rotate": {"post"},
        "/api/v1/manage/spaces/{space_id}/calendar-feed": {"get", "delete"},
        "/api/v1/manage/spaces/{space_id}/calendar-feed/rotate": {"post"},
    }  # the .ics feed itself is for calendar applications, not an API operation (docs/api.md)
    for path, methods in wanted.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)


async def test_production_refuses_loopback_and_private_urls(orm, infra, tmp_path):
    """Fails if a production server stores (and later POSTs to) an address inside its own
    network, on registration or on a change: the SSRF an operator's URL could otherwise be.
    The node is a real `cowork serve` process with COWORK_ENV=production (an in-process
    production server would arm the stop watchdog of this test process)."""
    node = start_node(
        node_env(orm.database_url, infra.nats_url, COWORK_ENV="production"), "prod", tmp_path
    )
    try:
        location = await make_location()
        manager = await make_user("manager", managed=(location,))
        staff = auth(replace(orm, jwt_secret=JWT_SECRET), manager)
        body = {"events": ["booking.confirmed"], "location_ids": [location.id]}
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
            for url, reason in (
                ("https://127.0.0.1:8443/hooks", "loopback"),
                ("https://localhost/hooks", "loopback"),
                ("https://[::1]/hooks", "loopback"),
                ("https://[::ffff:10.0.0.7]/hooks", "private"),
                ("https://10.1.2.3/hooks", "private"),
                ("https://192.168.0.10/hooks", "private"),
                ("https://169.254.169.254/latest/meta-data", "metadata"),
                ("http://hooks.example.com/in", "scheme"),
                ("https://user:pw@hooks.example.com/in", "malformed"),
            ):
                r = await http.post(HOOKS, json={**body, "url": url}, headers=staff)
                assert r.status_code == 422, (url, r.text)
                assert (r.json()["code"], r.json()["reason"]) == ("webhook_url_refused", reason)
            listed = await http.get(HOOKS, headers=staff)
            assert listed.status_code == 200 and listed.json()["items"] == []
            # An endpoint made before (no DNS here to register a public name): its URL cannot
            # be changed to an inside address either.
            hook_id = await db().execute_query_dict(
                "INSERT INTO webhook_endpoints (owner_id, url, events, location_ids, secret)"
                " VALUES ($1, 'https://hooks.example.com/in', '{booking.confirmed}', $2, 'whsec_x')"
                " RETURNING id",
                [manager.id, [location.id]],
            )
            url = f"{HOOKS}/{hook_id[0]['id']}"
            r = await http.patch(url, json={"url": "https://10.0.0.1/in"}, headers=staff)
            assert r.status_code == 422 and r.json()["reason"] == "private"
            assert (await http.get(url, headers=staff)).json()[
                "url"
            ] == "https://hooks.example.com/in"
    finally:
        node.stop()
