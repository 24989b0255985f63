"""Every write endpoint in the OpenAPI document, fed bad input: always a 4xx problem+json.

The routes and their body schemas come from `/docs/openapi.json`, so a new endpoint is
covered the day it is documented.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.factories import auth, make_location, make_space, make_user

WRITE_METHODS = ("post", "put", "patch")


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def wrong_value(prop: dict[str, Any]) -> Any:
    kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
    if "string" in kinds:
        return 12345
    if "integer" in kinds or "number" in kinds:
        return "not-a-number"
    if "boolean" in kinds:
        return "yes-please"
    if "array" in kinds:
        return "not-a-list"
    return ["unexpected"]


def bad_bodies(spec: dict[str, Any], operation: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    """(label, raw body, content type) cases for one operation."""
    cases = [
        ("malformed json", b'{"start": ', "application/json"),
        ("not json", b"hello", "text/plain"),
        ("json array", b"[1, 2, 3]", "application/json"),
        ("json null", b"null", "application/json"),
        ("two megabytes", b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}', "application/json"),
    ]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not body:  # an action without a body ignores one, but not an oversized one
        return [case for case in cases if case[0] == "two megabytes"]
    schema = resolve(spec, body["schema"])
    props = {
        k: resolve(spec, v) if "$ref" in v else v for k, v in schema.get("properties", {}).items()
    }
    if schema.get("required"):
        cases.append(("missing fields", b"{}", "application/json"))
    for name, prop in props.items():
        cases.append(
            (
                f"wrong type for {name}",
                json.dumps({name: wrong_value(prop)}).encode(),
                "application/json",
            )
        )
        fmt = prop.get("format") or next(
            (p.get("format") for p in prop.get("anyOf", []) if p.get("format")), None
        )
        if fmt == "date-time":
            cases.append(
                (
                    f"naive {name}",
                    json.dumps({name: "2030-01-01T10:00:00"}).encode(),
                    "application/json",
                )
            )
        if "enum" in prop:
            cases.append(
                (
                    f"unknown {name}",
                    json.dumps({name: "no-such-value"}).encode(),
                    "application/json",
                )
            )
    return cases


def write_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in WRITE_METHODS
    ]


async def test_every_write_endpoint_refuses_bad_input_with_a_4xx_problem(client, server):
    spec = (await client.get("/docs/openapi.json")).json()
    operations = write_operations(spec)
    assert len(operations) >= 20, "the OpenAPI document lost its routes"
    loc = await make_location()
    space = await make_space(loc, hourly_price_cents=100)
    admin = auth(server.settings, await make_user("admin"))
    failures = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for method, path, operation in operations:
            url = re.sub(
                r"\{[^}]+\}", lambda m: str(space.id if "space" in m.group(0) else loc.id), path
            )
            for label, raw, content_type in bad_bodies(spec, operation):
                r = await http.request(
                    method.upper(),
                    url,
                    content=raw,
                    headers={**admin, "Content-Type": content_type},
                )
                ok = (
                    400 <= r.status_code < 500
                    and r.headers.get("content-type", "").startswith("application/problem+json")
                    and "code" in r.json()
                )
                if not ok:
                    failures.append(
                        f"{method.upper()} {path} [{label}] → {r.status_code} "
                        f"{r.headers.get('content-type')}: {r.text[:120]}"
                    )
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/spaces/99999999999/availability",
        "/api/v1/locations/99999999999",
        "/api/v1/bookings/99999999999999999999",
    ],
)
async def test_out_of_range_ids_are_4xx(client, path):
    r = await client.get(
        path, params={"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")
