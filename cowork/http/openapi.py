"""The OpenAPI 3.1 document, built from the router and the `@doc` records; served at /docs.

Every schema comes from the pydantic models that parse requests and shape responses, in one
pass, so every `$ref` resolves under `components/schemas`. Each operation's problem responses
group the catalogued codes it can answer by status (`cowork.http.docs` derives the common ones).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter
from sanic import Blueprint, HTTPResponse, Request, Sanic, json
from sanic.response import file

from cowork.domain.problems import Problem
from cowork.http.docs import (
    AUTH_PROBLEMS,
    BODY_PROBLEMS,
    IDEMPOTENCY_PROBLEMS,
    OPERATIONS,
    WRITE_PROBLEMS,
    Auth,
    Operation,
    problem_catalogue,
)
from cowork.http.parsing import IDEMPOTENCY_KEY, id_bound, path_id_problem
from cowork.http.web import DOCS_PAGE

bp = Blueprint("docs", url_prefix="/docs")

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<([a-zA-Z_][a-zA-Z0-9_]*)(?::[^>]*)?>")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable (docs/api.md lists each); "
    "validation problems add `errors`, some add other members.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [p.code for p in Problem]},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["field", "message", "type"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "kiosk": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Kiosk <token>`: the token shown once when the kiosk was registered.",
    },
    "streamToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "A stream token from POST /api/v1/streams/token (EventSource sends no "
        "headers).",
    },
}
_SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.NONE: [],
    Auth.BEARER: [{"bearer": []}],
    Auth.KIOSK: [{"kiosk": []}],
    Auth.STREAM: [{"streamToken": []}],
}


def routed_operations(app: Sanic) -> Iterator[tuple[str, str, str, list[str], Operation]]:
    """(path, method, operationId, path parameter names, operation) of every documented route."""
    for route in sorted(app.router.routes, key=lambda r: r.path):
        operation = OPERATIONS.get(route.handler)
        if operation is None:
            continue
        path = "/" + _PARAM.sub(r"{\1}", route.path)
        names = [p.name for p in route.params.values()]
        op_id = route.name.split(".", 1)[-1].replace(".", "_")
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), op_id, names, operation


class _Schemas:
    """Models to publish; one pydantic pass names them all and resolves every reference."""

    def __init__(self) -> None:
        self._inputs: dict[str, tuple[Any, Any]] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self.components: dict[str, dict[str, Any]] = {}

    def want(self, model: Any, mode: str) -> str:
        key = f"{model.__module__}.{model.__qualname__}:{mode}"
        self._inputs[key] = (model, mode)
        return key

    def build(self, inline: list[Any]) -> None:
        """Schemas of every wanted model; those in `inline` (query models) are not components."""
        adapters = [(key, mode, TypeAdapter(model)) for key, (model, mode) in self._inputs.items()]
        mapping, defs = TypeAdapter.json_schemas(adapters, ref_template=REF)
        self.components = defs.get("$defs", {})
        self.schemas = {key: schema for (key, _), schema in mapping.items()}
        for model in inline:
            key = self.want(model, "validation")
            ref = self.schemas[key].get("$ref")
            if ref is not None:
                self.schemas[key] = self.components.pop(ref.rsplit("/", 1)[-1])

    def of(self, model: Any, mode: str) -> dict[str, Any]:
        return self.schemas[self.want(model, mode)]


def build_document(app: Sanic) -> dict[str, Any]:
    found = list(routed_operations(app))
    wanted = _Schemas()
    for _, _, _, _, op in found:
        for model, mode in ((op.body, "validation"), (op.query, "validation")):
            if model is not None:
                wanted.want(model, mode)
        if op.response is not None:
            wanted.want(op.response, "serialization")
    wanted.build(inline=[op.query for *_, op in found if op.query is not None])
    components = {**wanted.components, "Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for path, method, op_id, names, op in found:
        paths[path][method] = _operation(op, op_id, method, names, wanted)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cowork API",
            "version": "1.0.0",
            "description": "Realtime coworking bookings. Conventions (errors, pagination, "
            "times, idempotency, links) are in docs/api.md. Every error is "
            "application/problem+json with a stable `code`:\n\n" + problem_catalogue(),
        },
        "paths": dict(paths),
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(
    op: Operation,
    op_id: str,
    method: str,
    names: list[str],
    wanted: _Schemas,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": _SECURITY[op.auth],
    }
    if op.description:
        out["description"] = op.description
    parameters = [_path_parameter(name) for name in names]
    if op.query is not None:
        parameters += _query_parameters(wanted.of(op.query, "validation"))
    if op.idempotent:
        parameters.append(IDEMPOTENCY_PARAMETER)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        body = wanted.of(op.body, "validation")
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": body}},
        }
    out["responses"] = {
        **_successes(op, wanted),
        **_problem_responses(problems_of(op, method, names)),
    }
    return out


def _successes(op: Operation, wanted: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.summary}
    types = (op.media_type,) if isinstance(op.media_type, str) else op.media_type
    content = {}
    for media_type in types:
        if media_type == "application/json" and op.response is not None:
            schema = wanted.of(op.response, "serialization")
            content[media_type] = {"schema": schema}
        elif media_type != "application/json":
            content[media_type] = {"schema": {"type": "string"}}
    if content:
        response["content"] = content
    if op.links:
        response["links"] = {
            name: {
                "operationId": link.target,
                **({"parameters": dict(link.parameters)} if link.parameters else {}),
                **({"requestBody": dict(link.body)} if link.body else {}),
                **({"description": link.description} if link.description else {}),
            }
            for name, link in op.links.items()
        }
    return {str(status): response for status in (op.status, *op.also)}


def problems_of(op: Operation, method: str, path_names: list[str]) -> list[Problem]:
    """Every problem the operation can answer: its own, and those of what it declares."""
    found: list[Problem] = [*AUTH_PROBLEMS[op.auth], Problem.HEADERS_TOO_LARGE]
    found += [path_id_problem(name) for name in path_names]
    if path_names:  # a path whose id is not a number matches no route
        found.append(Problem.NOT_FOUND)
    if op.body is not None:
        found += BODY_PROBLEMS
    if op.query is not None:
        found.append(Problem.INVALID_QUERY)
        if "cursor" in op.query.model_fields:
            found.append(Problem.INVALID_CURSOR)
    if method != "get":
        found += WRITE_PROBLEMS
    if op.idempotent:
        found += IDEMPOTENCY_PROBLEMS
    found += op.errors
    return list(dict.fromkeys(found))


def _problem_responses(problems: list[Problem]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = defaultdict(list)
    for problem in problems:
        by_status[problem.status].append(problem.code)
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        schema = {
            "allOf": [
                {"$ref": REF.format(model="Problem")},
                {"type": "object", "properties": {"code": {"enum": sorted(codes)}}},
            ]
        }
        responses[str(status)] = {
            "description": "Problem: " + ", ".join(f"`{c}`" for c in sorted(codes)),
            "content": {"application/problem+json": {"schema": schema}},
        }
    return responses


def _path_parameter(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": id_bound(name)},
    }


def _query_parameters(model_schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(model_schema.get("required", []))
    params = []
    for name, prop in model_schema.get("properties", {}).items():
        schema = _without_null({k: v for k, v in prop.items() if k not in ("title", "default")})
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": schema,
        }
        if "description" in schema:
            param["description"] = schema.pop("description")
        params.append(param)
    return params


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is left out, never null: drop the null branch."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if "anyOf" not in schema or len(branches) == len(schema["anyOf"]):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**branches[0], **rest} if len(branches) == 1 else {**rest, "anyOf": branches}


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry of this write safe: the same key and body answer the first "
    "response again (docs/api.md).",
    "schema": IDEMPOTENCY_KEY,
}

_documents: dict[str, dict[str, Any]] = {}


def document(app: Sanic) -> dict[str, Any]:
    """The app's document, built once (the routes do not change after start)."""
    if app.name not in _documents:
        _documents[app.name] = build_document(app)
    return _documents[app.name]


@bp.get("/openapi.json")
async def openapi_json(request: Request) -> HTTPResponse:
    return json(document(request.app))


@bp.get("")
async def docs_page(request: Request) -> HTTPResponse:
    # The page carries its own Content-Security-Policy (a meta tag): the UI needs inline styles.
    return await file(
        DOCS_PAGE,
        mime_type="text/html; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
