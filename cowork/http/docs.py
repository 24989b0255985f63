"""OpenAPI operations declared beside their handlers: `@doc(...)` records what a route answers.

The document itself is assembled from these records and the router by `cowork.http.openapi`.
Statuses are never listed by hand: an operation names the problems its own rules raise, and
the ones every request of its kind can meet (authentication, body and query parsing, path ids,
Idempotency-Key, body size) are added from what it declares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from cowork.domain.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


class Out(BaseModel):
    """Base of response shapes: what is sent, exactly (a field with a default may be absent)."""

    model_config = ConfigDict(extra="forbid")


def sometimes(description: str) -> Any:
    """A response field that is left out when it does not apply (never sent as null)."""
    return Field(None, description=description)


def one_of(values: Iterable[str]) -> Any:
    """A string field limited to `values` (when no enum class declares them)."""
    allowed: list[Any] = sorted(set(values))
    return Field(json_schema_extra={"enum": allowed})


class Auth(Enum):
    """How an operation authenticates (its OpenAPI security requirement)."""

    NONE = "none"
    BEARER = "bearer"  # Authorization: Bearer <access token>
    KIOSK = "kiosk"  # Authorization: Kiosk <kiosk token>
    STREAM = "stream"  # ?token=<stream token> (EventSource cannot send headers)


TOKEN_PROBLEMS = (
    Problem.UNAUTHORIZED,
    Problem.TOKEN_REVOKED,
    Problem.TOKEN_EXPIRED,
    Problem.TOKEN_INVALID,
    Problem.TOKEN_WRONG_KIND,
)
AUTH_PROBLEMS: Mapping[Auth, tuple[Problem, ...]] = {
    Auth.NONE: (),
    Auth.BEARER: TOKEN_PROBLEMS,
    Auth.KIOSK: (Problem.UNAUTHORIZED,),
    Auth.STREAM: TOKEN_PROBLEMS,
}
BODY_PROBLEMS = (
    Problem.EMPTY_BODY,
    Problem.MALFORMED_JSON,
    Problem.UNSUPPORTED_MEDIA_TYPE,
    Problem.VALIDATION_FAILED,
)
WRITE_PROBLEMS = (Problem.PAYLOAD_TOO_LARGE,)
IDEMPOTENCY_PROBLEMS = (
    Problem.INVALID_IDEMPOTENCY_KEY,
    Problem.IDEMPOTENCY_KEY_REUSED,
    Problem.IDEMPOTENCY_KEY_IN_FLIGHT,
)
ACTOR_PROBLEMS = (Problem.SPACE_BUSY, Problem.NODE_UNAVAILABLE)
SLOT_PROBLEMS = (
    Problem.SLOT_IN_PAST,
    Problem.SLOT_TOO_FAR_AHEAD,
    Problem.SLOT_ORDER,
    Problem.SLOT_GRANULARITY,
    Problem.SLOT_TOO_SHORT,
    Problem.SLOT_TOO_LONG,
    Problem.OUTSIDE_OPENING_HOURS,
    Problem.LOCATION_CLOSED,
    Problem.INSTANT_OUT_OF_RANGE,
)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the operation `target` (an operationId) applies to what this one answered.

    `parameters` maps the target's parameter names to runtime expressions, e.g.
    `{"booking_id": "$response.body#/id"}`.
    """

    target: str
    parameters: Mapping[str, str]
    description: str = ""
    body: Mapping[str, str] | None = None  # the target's request body, field → expression


@dataclass(frozen=True)
class Operation:
    """What one route accepts and answers, as the OpenAPI document states it."""

    summary: str
    tag: str
    auth: Auth = Auth.BEARER
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    response: Any = None  # a pydantic model or TypedDict; None with status 204
    status: int = 200
    also: tuple[int, ...] = ()  # further success statuses with the same body
    media_type: str | tuple[str, ...] = "application/json"  # or text/event-stream, text/csv
    errors: tuple[Problem, ...] = ()
    idempotent: bool = False
    links: Mapping[str, Link] = field(default_factory=dict)
    description: str = ""


# handler → its operation; the router says where and with which methods it is mounted.
OPERATIONS: dict[Callable[..., Any], Operation] = {}


def doc(
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    response: Any = None,
    status: int = 200,
    also: tuple[int, ...] = (),
    query: type[BaseModel] | None = None,
    auth: bool | Auth = True,
    errors: tuple[Problem, ...] = (),
    idempotent: bool = False,
    links: Mapping[str, Link] | None = None,
    media_type: str | tuple[str, ...] = "application/json",
    description: str = "",
) -> Callable[[F], F]:
    """Declare a route's contract: summary, body, query, response, security, problems, links."""
    if isinstance(auth, bool):
        auth = Auth.BEARER if auth else Auth.NONE
    operation = Operation(
        summary=summary,
        tag=tag,
        auth=auth,
        body=body,
        body_required=body_required,
        query=query,
        response=response,
        status=status,
        also=also,
        media_type=media_type,
        errors=errors,
        idempotent=idempotent,
        links=dict(links or {}),
        description=description,
    )

    def wrap(func: F) -> F:
        OPERATIONS[func] = operation
        return func

    return wrap


def problem_catalogue() -> str:
    """The catalogue as a markdown table (the document's description and docs/api.md)."""
    rows = [f"| `{p.code}` | {p.status} | {p.title} | {p.meaning} |" for p in Problem]
    return "\n".join(["| code | status | title | meaning |", "|---|---|---|---|", *rows])
