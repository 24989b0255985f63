"""OpenAPI descriptions built from the same pydantic models that parse requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Parameter, RequestBody, Response
from sanic_ext.extensions.openapi.types import Schema

from cowork.domain.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


def problem_catalogue() -> str:
    """The catalogue as a markdown table, for the OpenAPI description."""
    rows = [f"| `{p.code}` | {p.status} | {p.meaning} |" for p in Problem]
    return "\n".join(["| code | status | meaning |", "|---|---|---|", *rows])


REF = "#/components/schemas/{model}"
# Every model a route names; create_app publishes them as components/schemas.
SCHEMAS: dict[str, Any] = {}
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable (docs/api.md lists each).",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [p.code for p in Problem]},
        "request_id": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code"],
}


def _ref(model: type[Any]) -> dict[str, Any]:
    """A model's schema under components (a pydantic model or a TypedDict)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template=REF)
    else:
        schema = TypeAdapter(model).json_schema(ref_template=REF)
    SCHEMAS.update(schema.pop("$defs", {}))
    SCHEMAS[model.__name__] = schema
    return {"schema": {"$ref": REF.format(model=model.__name__)}}


def _query_params(model: type[BaseModel]) -> list[Parameter]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        Parameter(
            name,
            Schema(**{k: v for k, v in prop.items() if k != "title"}),
            location="query",
            required=name in required,
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def doc(
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[Any] | None = None,
    status: int = 200,
    query: type[BaseModel] | None = None,
    auth: bool = True,
    errors: tuple[int, ...] = (),
) -> Callable[[F], F]:
    """Describe a route: summary, body, response, query, bearer auth and error statuses."""
    responses: list[Response] = []
    if response is not None:
        responses.append(Response({"application/json": _ref(response)}, status=status))
    else:
        responses.append(
            Response({"application/json": {"schema": {"type": "object"}}}, status=status)
        )
    SCHEMAS["Problem"] = PROBLEM
    problem_ref = {"schema": {"$ref": REF.format(model="Problem")}}
    codes = set(errors) | ({401} if auth else set()) | ({415, 422} if body else set())
    responses += [
        Response({"application/problem+json": problem_ref}, status=c) for c in sorted(codes)
    ]

    def wrap(func: F) -> F:
        kwargs: dict[str, Any] = {"summary": summary, "tag": tag, "response": responses}
        if body is not None:
            kwargs["body"] = RequestBody({"application/json": _ref(body)}, required=True)
        if query is not None:
            kwargs["parameter"] = _query_params(query)
        if auth:
            kwargs["secured"] = {"bearer": []}
        return openapi.definition(**kwargs)(func)

    return wrap
