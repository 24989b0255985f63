"""The OpenAPI document is complete and self-consistent, and the edge enforces what it says.

Each test names the fault it catches in its name; the live ones drive a real node over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cowork.domain.problems import Problem
from cowork.http.docs import OPERATIONS, problem_catalogue
from cowork.http.openapi import build_document
from cowork.http.web import PAGES
from tests.factories import auth, make_location, make_space, make_user

ROOT = Path(__file__).resolve().parents[2]
# Routes that are not API operations (docs/api.md says why).
UNDOCUMENTED = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/kiosk",
    "/web/<name:str>",
    "/web/vendor/<package:str>/<name:str>",
    "/favicon.ico",
    "/webhooks/stripe",
    "/api/v1/dev/card-payments",  # dev and tests only (localstripe)
    "/dev/mail",  # dev only: the local mail sink's inbox (404 elsewhere)
    "/dev/mail/<key:str>",
    "/sw.js",  # the web app's service worker
    "/ical/<name:str>",  # calendar applications subscribe to it; its token is the credential
    *PAGES,
    "/api/v1/ws",
    "/docs",
    "/docs/openapi.json",
}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.fixture
def spec(server) -> dict[str, Any]:
    return build_document(server.app)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]


def test_every_reference_resolves(spec):
    assert spec["openapi"] == "3.1.0"
    names = set(spec["components"]["schemas"])
    missing = {r for r in _refs(spec) if r.rsplit("/", 1)[-1] not in names}
    assert missing == set()
    assert all(r.startswith("#/components/schemas/") for r in _refs(spec))


def test_every_api_route_is_documented(server):
    routes = {"/" + r.path for r in server.app.router.routes if r.handler not in OPERATIONS}
    assert routes - {u.rstrip("/") or "/" for u in UNDOCUMENTED} - {"/"} == set()


def test_operations_declare_security_problems_and_unique_ids(spec):
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    for path, method, op in _operations(spec):
        assert "security" in op, (method, path)
        for status, response in op["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/problem+json"]["schema"]
                codes = schema["allOf"][1]["properties"]["code"]["enum"]
                assert {Problem[c.upper()].status for c in codes} == {int(status)}, (path, status)
            elif status == "204":
                assert "content" not in response, (method, path)


def test_links_name_existing_operations_and_their_parameters(spec):
    by_id = {op["operationId"]: op for _, _, op in _operations(spec)}
    links = [
        link
        for _, _, op in _operations(spec)
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 25
    for link in links:
        target = by_id[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", [])}
        assert set(link.get("parameters", {})) <= names, link


def test_responses_forbid_fields_they_do_not_declare(spec):
    schemas = spec["components"]["schemas"]
    outputs = {
        r.rsplit("/", 1)[-1]
        for _, _, op in _operations(spec)
        for status, response in op["responses"].items()
        if int(status) < 400
        for r in _refs(response)
    }
    seen: set[str] = set()
    while outputs:
        name = outputs.pop()
        seen.add(name)
        schema = schemas[name]
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("additionalProperties") is False, name
        outputs |= {r.rsplit("/", 1)[-1] for r in _refs(schema)} - seen


def test_docs_api_md_lists_the_catalogue_as_it_is():
    assert problem_catalogue() in (ROOT / "docs" / "api.md").read_text()


# -- the edge, live ------------------------------------------------------------------------


async def test_head_is_answered_wherever_get_is(client):
    get = await client.get("/api/v1/locations")
    head = await client.head("/api/v1/locations")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


async def test_head_on_a_stream_answers_headers_and_ends(client):
    loc = await make_location()
    r = await client.head(f"/api/v1/streams/locations/{loc.id}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")


async def test_undeclared_methods_get_405_with_allow(client):
    loc = await make_location()
    for method in ("TRACE", "PUT", "DELETE"):
        r = await client.request(method, f"/api/v1/manage/locations/{loc.id}")
        assert r.status_code == 405, method
        assert r.json()["code"] == "method_not_allowed"
        assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/bookings/9223372036854775808", "booking_not_found"),
        ("/api/v1/bookings/0", "booking_not_found"),
        ("/api/v1/spaces/2147483648", "space_not_found"),
        ("/api/v1/locations/-1", "location_not_found"),
    ],
)
async def test_ids_beyond_their_column_are_404_before_any_handler(client, path, code):
    r = await client.get(path)
    assert r.status_code == 404
    assert r.json()["code"] == code


async def test_a_huge_booking_id_never_reaches_the_space_actor(server, client):
    loc = await make_location()
    space = await make_space(loc)
    member = auth(server.settings, await make_user())
    r = await client.post(f"/api/v1/spaces/{space.id}/bookings/{2**70}/cancel", headers=member)
    assert r.status_code == 404
    assert r.json()["code"] == "booking_not_found"
    assert server.app.ctx.services.registry.peek(space.id) is None  # no actor was started


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/analytics/overview", "to=1700000000"),
        ("/api/v1/analytics/overview", "to=1999-12-31"),
        ("/api/v1/admin/audit", "to=1700000000"),
        ("/api/v1/admin/audit", "from=2030-01-01T10:00:00"),
        ("/api/v1/manage/bookings", "to=1700000000"),
        ("/api/v1/manage/bookings", "limit=5&limit=6"),
        ("/api/v1/manage/locations", "cursor="),
        ("/api/v1/notifications", "unread=yes"),
    ],
)
async def test_query_values_of_the_wrong_type_are_refused(server, client, path, query):
    admin = auth(server.settings, await make_user("admin"))
    r = await client.get(f"{path}?{query}", headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_query"


async def test_text_with_nul_and_integral_floats_in_bodies(server, client):
    loc = await make_location()
    admin = auth(server.settings, await make_user("admin"))
    nul = await client.post(
        "/api/v1/admin/kiosks", json={"location_id": loc.id, "name": "a\x00b"}, headers=admin
    )
    assert nul.status_code == 422
    assert nul.json()["code"] == "validation_failed"
    made = await client.post(
        "/api/v1/admin/kiosks", json={"location_id": float(loc.id), "name": "ok"}, headers=admin
    )
    assert made.status_code == 201, made.text
