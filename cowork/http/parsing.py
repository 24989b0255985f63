"""Request parsing: bodies and query strings into pydantic models, one type per meaning.

Every value that crosses the edge is bounded here, before it reaches an actor or asyncpg:
ids within their column's integer type, instants and dates within the years 2000-2099, cursors
only as this server issues them, limits within a page. Query parameters of the same meaning
(`from`/`to`, `limit`, `cursor`, ids, flags) use the same type, hence the same parser and the
same OpenAPI declaration, on every endpoint.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from sanic import Request
from tortoise.fields import BigIntField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from cowork.domain.problems import Problem

B = TypeVar("B", bound=BaseModel)
M = TypeVar("M", bound=Model)

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_ID = INT32_MAX  # ids are int4 except bookings, notifications, series, waitlist,
# webhook deliveries (int8)
YEAR_PATTERN = r"^20[0-9]{2}-"  # the years 2000-2099, as written

# -- path ids ---------------------------------------------------------------------------------

_BIGINT_IDS = frozenset({"booking_id", "notification_id", "series_id", "entry_id", "delivery_id"})
_PATH_ID_PROBLEMS = {
    "booking_id": Problem.BOOKING_NOT_FOUND,
    "space_id": Problem.SPACE_NOT_FOUND,
    "location_id": Problem.LOCATION_NOT_FOUND,
    "kiosk_id": Problem.KIOSK_NOT_FOUND,
    "user_id": Problem.USER_NOT_FOUND,
    "payment_id": Problem.PAYMENT_NOT_FOUND,
    "notification_id": Problem.NOTIFICATION_NOT_FOUND,
    "series_id": Problem.SERIES_NOT_FOUND,
    "entry_id": Problem.WAITLIST_ENTRY_NOT_FOUND,
    "device_id": Problem.DEVICE_NOT_FOUND,
    "endpoint_id": Problem.WEBHOOK_NOT_FOUND,
    "delivery_id": Problem.WEBHOOK_DELIVERY_NOT_FOUND,
}


def id_bound(name: str) -> int:
    """The largest value a path id of this name can have (its column's integer type)."""
    return INT64_MAX if name in _BIGINT_IDS else INT32_MAX


def path_id_problem(name: str) -> Problem:
    """What a path id names nothing answers: the 404 of its resource."""
    return _PATH_ID_PROBLEMS.get(name, Problem.NOT_FOUND)


def check_path_ids(request: Request) -> None:
    """An id outside its column's range names nothing: 404 before any handler runs."""
    for name, value in request.match_info.items():
        if isinstance(value, int) and not 1 <= value <= id_bound(name):
            raise path_id_problem(name).error(f"No resource has {name} {value}.")


# -- shared value types -----------------------------------------------------------------------

# RFC 3339 (without an offset, pydantic names what is missing).
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN)
_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")  # "+01:00" sent unencoded in a query


def _instant_text(value: Any) -> Any:
    """Parsed here, from the one accepted spelling (pydantic would also take a Unix time)."""
    if not isinstance(value, str):
        return value
    if not _INSTANT.match(value):
        raise ValueError("an ISO-8601 date-time with a UTC offset, e.g. 2030-01-31T09:00:00+01:00")
    return datetime.fromisoformat(value.upper())


def _query_instant_text(value: Any) -> Any:
    if isinstance(value, str):
        value = _SPACED_OFFSET.sub(r"+\1", value)
    return _instant_text(value)


def _in_years(value: date) -> None:
    if not 2000 <= value.year <= 2099:
        raise ValueError("dates and instants must fall in the years 2000 to 2099")


def _instant(value: datetime) -> datetime:
    _in_years(value)
    return value


def _date_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not _DATE.match(value):
        raise ValueError("a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _local_time_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not _LOCAL_TIME.match(value):
        raise ValueError("a wall-clock time as HH:MM or HH:MM:SS, without an offset")
    return time.fromisoformat(value)


def _local_date(value: date) -> date:
    _in_years(value)
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("`true` or `false`")
        return value == "true"
    return value


_INSTANT_SCHEMA = {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}
_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": YEAR_PATTERN}

# An instant in a body: ISO-8601 with an offset, in the years 2000-2099.
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    AfterValidator(_instant),
    WithJsonSchema(_INSTANT_SCHEMA),
]
# The same in a query string, where an unencoded "+" of the offset arrives as a space.
QueryInstant = Annotated[
    AwareDatetime,
    BeforeValidator(_query_instant_text),
    AfterValidator(_instant),
    WithJsonSchema(_INSTANT_SCHEMA),
]
# A local calendar day, YYYY-MM-DD, in the years 2000-2099.
LocalDate = Annotated[
    date, BeforeValidator(_date_text), AfterValidator(_local_date), WithJsonSchema(_DATE_SCHEMA)
]
# A wall-clock time of day, HH:MM[:SS], no offset (JSON Schema's `time` format requires one).
LocalTime = Annotated[
    time,
    BeforeValidator(_local_time_text),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN}),
]
Flag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"})]
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
BigId = Annotated[int, Field(ge=1, le=INT64_MAX)]
Limit = Annotated[int, Field(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` of the previous page",
    ),
]
IDEMPOTENCY_KEY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[\x20-\x7e]+$",
}


NO_NUL = "^[^\\x00]*$"  # PostgreSQL text cannot hold U+0000


def declare_no_nul(schema: dict[str, Any]) -> None:
    """Every free-text string says what the edge enforces: no U+0000 (patterned ones say more)."""
    for prop in schema.get("properties", {}).values():
        for part in (prop, *prop.get("anyOf", []), prop.get("items", {})):
            if part.get("type") == "string" and not {"pattern", "enum", "format"} & set(part):
                part["pattern"] = NO_NUL


class Body(BaseModel):
    """Base of request bodies: JSON types are not coerced, unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=declare_no_nul)

    @model_validator(mode="after")
    def _no_nul(self) -> Body:
        """What the model keeps is stored as text: U+0000 is refused (fields a model ignores
        are not looked at)."""
        for path, text in _strings(self.model_dump(), ""):
            if "\x00" in text:
                raise ValueError(f"{path or 'body'}: text cannot contain U+0000")
        return self


class Query(BaseModel):
    """Base of query strings: values arrive as text; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=declare_no_nul)


class PageParams(Query):
    limit: Limit = 50
    cursor: Cursor | None = None


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
        return model.model_validate_json(_normalised_json(request.body))
    except ValidationError as exc:
        raise Problem.VALIDATION_FAILED.error(
            "The body does not match the expected schema.", errors=_errors(exc)
        ) from exc


def _number(text: str) -> int | float:
    """JSON Schema counts 12.0 as an integer; so do we (pydantic's strict mode would not)."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _normalised_json(raw: bytes) -> str:
    """The body re-serialised: integral numbers as integers, text checked for what we store."""
    try:
        data = json.loads(raw, parse_float=_number, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Problem.MALFORMED_JSON.error("The body is not valid JSON.") from exc
    for _, text in _strings(data, ""):
        try:
            text.encode()
        except UnicodeEncodeError as exc:  # a lone surrogate escape: not Unicode text
            raise Problem.MALFORMED_JSON.error("The body is not valid UTF-8 text.") from exc
    return json.dumps(data)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _strings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(key, path)
            yield from _strings(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, f"{path}.{i}" if path else str(i))


def parse_query(request: Request, model: type[B]) -> B:
    """The query string as `model`; a parameter given twice is refused, not silently picked."""
    args = request.get_args(keep_blank_values=True)
    wrong = [
        {"field": key, "message": "given more than once or contains U+0000", "type": "repeated"}
        for key, values in args.items()
        if len(values) > 1 or "\x00" in values[0]
    ]
    if wrong:
        raise Problem.INVALID_QUERY.error("Some query parameters are not valid.", errors=wrong)
    raw = {key: values[0] for key, values in args.items()}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise Problem.INVALID_QUERY.error(
            "Some query parameters are not valid.", errors=_errors(exc)
        ) from exc


# -- cursors ----------------------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, bound: int = INT64_MAX) -> int:
    """The id a cursor continues after; anything this server could not have issued is refused."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Problem.INVALID_CURSOR.error("The cursor is not one this server issued.") from exc
    if not text.isdigit() or text.startswith("0") or not 0 < int(text) <= bound:
        raise Problem.INVALID_CURSOR.error("The cursor is not one this server issued.")
    return int(text)


def cursor_id(cursor: str | None) -> int | None:
    """The bigint id a cursor continues after, or None for the first page."""
    return decode_cursor(cursor) if cursor else None


async def paginate(
    queryset: QuerySet[M], page: PageParams, *, newest_first: bool = False
) -> tuple[list[M], str | None]:
    """Keyset pagination on the primary key; stable while rows are inserted."""
    if page.cursor:
        pk = queryset.model._meta.pk
        after = decode_cursor(page.cursor, INT64_MAX if isinstance(pk, BigIntField) else MAX_ID)
        queryset = queryset.filter(id__lt=after) if newest_first else queryset.filter(id__gt=after)
    rows = await queryset.order_by("-id" if newest_first else "id").limit(page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, (encode_cursor(rows[-1].pk) if more and rows else None)


def page_body(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
