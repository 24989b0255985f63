"""Request parsing: JSON bodies and query strings into pydantic models, cursors for lists."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sanic import Request
from tortoise.models import Model
from tortoise.queryset import QuerySet

from cowork.domain.problems import Problem

B = TypeVar("B", bound=BaseModel)
M = TypeVar("M", bound=Model)


class Body(BaseModel):
    """Base of request bodies: JSON types are not coerced, unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Base of query strings: values arrive as text, so they are coerced."""

    model_config = ConfigDict(extra="ignore")


class PageParams(Query):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def parse_body(request: Request, model: type[B]) -> B:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem.UNSUPPORTED_MEDIA_TYPE.error("Send the body as application/json.")
    if not request.body:
        raise Problem.EMPTY_BODY.error("A JSON object is required.")
    try:
        return model.model_validate_json(request.body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise Problem.MALFORMED_JSON.error("The body is not valid JSON.") from exc
        raise Problem.VALIDATION_FAILED.error(
            "The body does not match the expected schema.", errors=_errors(exc)
        ) from exc


def parse_query(request: Request, model: type[B]) -> B:
    raw = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise Problem.INVALID_QUERY.error(
            "Some query parameters are not valid.", errors=_errors(exc)
        ) from exc


MAX_ID = 2**31 - 1  # ids are int4 except bookings and events, which stay far below it
MAX_BIGINT = 2**63 - 1  # bookings, waitlist entries, series


def stored_id(value: int, problem: Problem) -> int:
    """A path id that a bigint column can hold; a larger one names nothing (`problem`)."""
    if not 0 < value <= MAX_BIGINT:
        raise problem.error(f"No such resource {value}.")
    return value


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Problem.INVALID_CURSOR.error("The cursor is not one this server issued.") from exc


async def paginate(
    queryset: QuerySet[M], page: PageParams, *, newest_first: bool = False
) -> tuple[list[M], str | None]:
    """Keyset pagination on the primary key; stable while rows are inserted."""
    if page.cursor:
        after = decode_cursor(page.cursor)
        queryset = queryset.filter(id__lt=after) if newest_first else queryset.filter(id__gt=after)
    rows = await queryset.order_by("-id" if newest_first else "id").limit(page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, (encode_cursor(rows[-1].pk) if more and rows else None)


def page_body(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
