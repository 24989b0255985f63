"""Every management write answers bad input with a 4xx problem+json, never a 5xx, and changes
nothing. One test per endpoint runs all its cases against one server (a server per case would
make this file the slowest in the suite)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import auth, make_location, make_space, make_user


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {loc}, {space} are filled in
    valid: dict[str, Any]
    wrong_types: dict[str, Any]
    required: tuple[str, ...] = ()
    bad_values: dict[str, Any] = field(default_factory=dict)  # well-typed but refused


ENDPOINTS = {
    "create_location": Endpoint(
        "POST",
        "/api/v1/manage/locations",
        {"name": "N", "city": "Turin", "address": "Via Po 1", "timezone": "Europe/Rome"},
        {
            "name": 5,
            "city": ["Turin"],
            "floors": "0",
            "opening_hours": [],
            "cancellation_policy": {"hours_before": 1},
            "booking_rules": [],
            "currency": 978,
        },
        required=("name", "city", "address", "timezone"),
        bad_values={
            "timezone": "Nowhere/Town",
            "currency": "eu",
            "opening_hours": {"funday": [["08:00", "09:00"]]},
            "cancellation_policy": [{"hours_before": 1, "percent": 101}],
            "booking_rules": {"granularity_minutes": 0},
        },
    ),
    "patch_location": Endpoint(
        "PATCH",
        "/api/v1/manage/locations/{loc}",
        {"name": "Renamed"},
        {
            "name": 5,
            "active": "false",
            "floors": [{"level": "0", "name": "G"}],
            "booking_rules": {"granularity_minutes": "15"},
            "description": None,
            "cancellation_policy": [["24", "100"]],
        },
        bad_values={
            "timezone": "",
            "currency": "€€€",
            "floors": [{"level": -1, "name": "Basement"}],
            "cancellation_policy": [{"hours_before": True, "percent": 100}],
        },
    ),
    "put_hours": Endpoint(
        "PUT",
        "/api/v1/manage/locations/{loc}/hours",
        {"mon": [["08:00", "20:00"]]},
        {"mon": "08:00-20:00", "tue": [[8, 20]], "wed": [None], "thu": {"open": "08:00"}},
        bad_values={
            "mon": [["20:00", "08:00"]],
            "tue": [["08:00", "20:00", "21:00"]],
            "wed": [["24:00", "24:00"]],
            "holiday": [["08:00", "20:00"]],
        },
    ),
    "create_closure": Endpoint(
        "POST",
        "/api/v1/manage/locations/{loc}/closures",
        {"start_date": "2030-12-25", "end_date": "2030-12-26"},
        {"start_date": 20301225, "end_date": ["2030-12-26"], "reason": 7},
        required=("start_date", "end_date"),
        bad_values={"end_date": "2030-12-24", "start_date": "2030-13-01"},
    ),
    "create_space": Endpoint(
        "POST",
        "/api/v1/manage/locations/{loc}/spaces",
        {"name": "Desk", "type": "desk"},
        {
            "capacity": "2",
            "amenities": "wifi",
            "hourly_price_cents": 2.5,
            "active": "yes",
            "floor": None,
            "name": 1,
        },
        required=("name", "type"),
        bad_values={
            "type": "sofa",
            "capacity": 0,
            "hourly_price_cents": -5,
            "daily_price_cents": 10**12,
            "x": -3,
            "amenities": ["warp_drive"],
            "floor": 9,
        },
    ),
    "patch_space": Endpoint(
        "PATCH",
        "/api/v1/manage/spaces/{space}",
        {"capacity": 2},
        {"capacity": "2", "amenities": [1], "x": 1.5, "daily_price_cents": "0", "type": None},
        bad_values={"type": "lounge", "width": 0, "hourly_price_cents": -1, "height": 10**10},
    ),
    "create_amenity": Endpoint(
        "POST",
        "/api/v1/manage/amenities",
        {"code": "sauna", "name": "Sauna"},
        {"code": 1, "name": []},
        required=("code", "name"),
        bad_values={"code": "Sauna Room", "name": ""},
    ),
}


@dataclass(frozen=True)
class Case:
    content: bytes
    content_type: str | None
    status: int
    code: str | None  # None: any code


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def cases(endpoint: Endpoint) -> dict[str, Case]:
    valid = endpoint.valid
    found = {
        "malformed_json": Case(b'{"name": "a', "application/json", 400, "malformed_json"),
        "trailing_garbage": Case(_json(valid) + b"}", "application/json", 400, "malformed_json"),
        "empty_body": Case(b"", "application/json", 400, "empty_body"),
        "text_plain": Case(_json(valid), "text/plain", 415, "unsupported_media_type"),
        "form": Case(b"name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        "no_content_type": Case(_json(valid), None, 415, "unsupported_media_type"),
        "array": Case(_json([valid]), "application/json", 422, "validation_failed"),
        "null": Case(b"null", "application/json", 422, "validation_failed"),
        "number": Case(b"42", "application/json", 422, "validation_failed"),
        "unknown_field": Case(
            _json({**valid, "owner_id": 1}), "application/json", 422, "validation_failed"
        ),
        "too_large": Case(
            _json({**valid, "pad": "x" * (2 * 1024 * 1024)}),
            "application/json",
            413,
            "payload_too_large",
        ),
    }
    for name, value in endpoint.wrong_types.items():
        found[f"wrong_type_{name}"] = Case(
            _json({**valid, name: value}), "application/json", 422, "validation_failed"
        )
    for name, value in endpoint.bad_values.items():
        found[f"bad_value_{name}"] = Case(
            _json({**valid, name: value}), "application/json", 422, None
        )
    if endpoint.required:
        found["missing_all"] = Case(b"{}", "application/json", 422, "validation_failed")
        for name in endpoint.required:
            rest = {k: v for k, v in valid.items() if k != name}
            found[f"missing_{name}"] = Case(
                _json(rest), "application/json", 422, "validation_failed"
            )
    return found


@pytest.fixture
async def target(client, settings) -> dict[str, Any]:
    location = await make_location()
    space = await make_space(location)
    admin = await make_user("admin")
    return {"loc": location.id, "space": space.id, "headers": auth(settings, admin)}


@pytest.mark.parametrize("name", ENDPOINTS)
async def test_bad_input_is_a_problem(client, db, target, name):
    endpoint = ENDPOINTS[name]
    path = endpoint.path.format(loc=target["loc"], space=target["space"])
    failures: list[str] = []
    for case_name, case in cases(endpoint).items():
        headers = dict(target["headers"])
        if case.content_type is not None:
            headers["content-type"] = case.content_type
        r = await client.request(endpoint.method, path, content=case.content, headers=headers)
        problem = r.headers.get("content-type", "").startswith("application/problem+json")
        code = r.json().get("code") if problem else None
        if r.status_code != case.status or not problem or case.code not in (None, code):
            failures.append(f"{case_name}: {r.status_code} {code} (want {case.status} {case.code})")
    assert not failures, "\n".join(failures)
    # nothing was written by any refused request
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0
    assert await db.fetchval("SELECT count(*) FROM locations") == 1
    assert await db.fetchval("SELECT count(*) FROM closures") == 0


@pytest.mark.parametrize("name", ENDPOINTS)
async def test_valid_body_is_accepted(client, target, name):
    """The baseline the bad cases vary: proves each refusal above is about the variation."""
    endpoint = ENDPOINTS[name]
    path = endpoint.path.format(loc=target["loc"], space=target["space"])
    r = await client.request(endpoint.method, path, json=endpoint.valid, headers=target["headers"])
    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/manage/locations/{loc}/closures/abc",
        "/api/v1/manage/locations/{loc}/closures/0",
        "/api/v1/manage/locations/{loc}/closures/-1",
        "/api/v1/manage/locations/{loc}/closures/99999999999999999999",
        "/api/v1/manage/locations/99999999999999999999/closures/1",
    ],
)
async def test_delete_closure_with_bad_ids(client, target, path):
    r = await client.delete(path.format(loc=target["loc"]), headers=target["headers"])
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("cursor", ["!!", "OTk5OTk5OTk5OTk5OTk5OTk5OQ", "LTE"])
async def test_bad_cursor_on_manage_lists(client, target, cursor):
    for path in ("/api/v1/manage/locations", f"/api/v1/manage/locations/{target['loc']}/spaces"):
        r = await client.get(path, params={"cursor": cursor}, headers=target["headers"])
        assert r.status_code < 500, r.text
