"""Every write endpoint of accounts answers bad input with a 4xx problem+json, never a 5xx."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from factories import auth, make_user


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    valid: dict[str, Any]
    wrong_types: dict[str, Any]
    caller: str | None = None  # the role whose token is sent, if any
    required: bool = True  # whether `{}` is missing required fields


ENDPOINTS = {
    "register": Endpoint(
        "POST",
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": "long enough", "name": "New"},
        {"email": 42, "password": ["long enough"], "name": {"first": "New"}},
    ),
    "login": Endpoint(
        "POST",
        "/api/v1/auth/login",
        {"email": "new@example.com", "password": "long enough"},
        {"email": None, "password": 12345678},
    ),
    "refresh": Endpoint(
        "POST", "/api/v1/auth/refresh", {"refresh_token": "x" * 43}, {"refresh_token": 7}
    ),
    "logout": Endpoint(
        "POST", "/api/v1/auth/logout", {"refresh_token": "x" * 43}, {"refresh_token": True}
    ),
    "patch_me": Endpoint(
        "PATCH",
        "/api/v1/me",
        {"name": "Renamed"},
        {"name": 3, "password": 12345678, "current_password": ["x"]},
        caller="member",
        required=False,
    ),
    "patch_user": Endpoint(
        "PATCH",
        "/api/v1/admin/users/{target}",
        {"role": "manager"},
        {"role": 1, "is_active": "false", "managed_location_ids": "1,2"},
        caller="admin",
        required=False,
    ),
}


@dataclass(frozen=True)
class Case:
    content: bytes
    content_type: str | None
    status: int
    code: str


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def cases(endpoint: Endpoint) -> dict[str, Case]:
    found = {
        "malformed_json": Case(b'{"email": "a@', "application/json", 400, "malformed_json"),
        "trailing_garbage": Case(
            _json(endpoint.valid) + b" x", "application/json", 400, "malformed_json"
        ),
        "empty_body": Case(b"", "application/json", 400, "empty_body"),
        "text_plain": Case(_json(endpoint.valid), "text/plain", 415, "unsupported_media_type"),
        "form": Case(b"a=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        "no_content_type": Case(_json(endpoint.valid), None, 415, "unsupported_media_type"),
        "array": Case(_json([endpoint.valid]), "application/json", 422, "validation_failed"),
        "null": Case(b"null", "application/json", 422, "validation_failed"),
        "string": Case(b'"hello"', "application/json", 422, "validation_failed"),
        "unknown_field": Case(
            _json({**endpoint.valid, "is_admin": True}),
            "application/json",
            422,
            "validation_failed",
        ),
        "too_large": Case(
            _json({**endpoint.valid, "pad": "x" * (2 * 1024 * 1024)}),
            "application/json",
            413,
            "payload_too_large",
        ),
    }
    for field, value in endpoint.wrong_types.items():
        found[f"wrong_type_{field}"] = Case(
            _json({**endpoint.valid, field: value}), "application/json", 422, "validation_failed"
        )
    if endpoint.required:
        found["missing_all"] = Case(b"{}", "application/json", 422, "validation_failed")
        for field in endpoint.valid:
            rest = {k: v for k, v in endpoint.valid.items() if k != field}
            found[f"missing_{field}"] = Case(
                _json(rest), "application/json", 422, "validation_failed"
            )
    return found


def _mismatch(case_name: str, case: Case, r) -> str | None:
    seen = f"{case_name}: got {r.status_code} {r.headers.get('content-type')} {r.text[:200]}"
    if r.status_code != case.status:
        return seen
    if not r.headers.get("content-type", "").startswith("application/problem+json"):
        return seen
    problem = r.json()
    if problem.get("code") != case.code or problem.get("status") != case.status:
        return seen
    if case.code == "validation_failed" and not problem.get("errors"):
        return seen
    return None


# One server per endpoint, every case against it: the cases are all refused, so they
# share no state, and a fresh database per case would only make the suite slow.
@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_bad_input_is_a_problem(client, settings, name):
    endpoint = ENDPOINTS[name]
    caller = auth(settings, await make_user(endpoint.caller)) if endpoint.caller else {}
    target = await make_user()
    path = endpoint.path.format(target=target.id)

    mismatches = []
    for case_name, case in cases(endpoint).items():
        headers = dict(caller)
        if case.content_type is not None:
            headers["content-type"] = case.content_type
        r = await client.request(endpoint.method, path, content=case.content, headers=headers)
        mismatches.append(_mismatch(case_name, case, r))
    assert [m for m in mismatches if m] == []

    # The control: the `valid` body really passes the parser.
    r = await client.request(endpoint.method, path, json=endpoint.valid, headers=caller)
    assert r.status_code < 500
    if r.status_code >= 400:
        assert r.json()["code"] not in {"validation_failed", "malformed_json", "empty_body"}
