"""Schemathesis hooks for the contract run (loaded by the `hooks` setting of fuzz.config).

`positive_data_acceptance` is configured to allow 400 and 422 for schema-valid requests,
because a domain rule the schema cannot express (a slot in the past, a cursor this server did
not issue, `to` before `from`) refuses them with its own code. This check keeps the part that
matters: a schema-valid request is never refused for its shape.
"""

from __future__ import annotations

from datetime import date, datetime

import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, Response

# The codes that mean "the request does not match the document" (docs/api.md).
SHAPE_CODES = frozenset(
    {
        "bad_request",
        "empty_body",
        "http_error",
        "invalid_parameter",
        "invalid_query",
        "malformed_json",
        "unsupported_media_type",
        "validation_failed",
    }
)


@schemathesis.check
def schema_valid_request_passes_the_edge(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if "json" not in (response.headers.get("content-type") or [""])[0]:
        return None
    body = response.json()
    code = body.get("code") if isinstance(body, dict) else None
    if code in SHAPE_CODES:
        raise AssertionError(
            f"A schema-valid request was refused for its shape: {code} ({body.get('detail')}; "
            f"{body.get('errors')})"
        )
    return None


# Dates and instants are declared with `pattern: ^20[0-9]{2}-` beside their format; drawing
# from the format alone and filtering on the pattern would discard 99 % of the draws.
def _instants() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30))
    offsets = st.sampled_from(["Z", "+00:00", "+01:00", "-05:00", "+05:30"])
    return st.builds(lambda m, o: m.replace(microsecond=0).isoformat() + o, moments, offsets)


schemathesis.openapi.format(
    "date", st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)).map(str)
)
schemathesis.openapi.format("date-time", _instants())
