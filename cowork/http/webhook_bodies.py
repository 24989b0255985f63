"""Request and response bodies of the webhooks API (declared once: parsing and OpenAPI)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, WithJsonSchema

from cowork.domain.webhooks import MAX_EVENTS, MAX_LOCATIONS, WEBHOOK_EVENTS, DeliveryStatus
from cowork.http.docs import Out
from cowork.http.parsing import Body, Id, Instant, PageParams

Url = Annotated[str, StringConstraints(min_length=8, max_length=2048)]
# Declared as the event types; an unknown name is refused by the rule that names it
# (422 unknown_webhook_event, with `unknown`), not as a shape error.
EventName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    WithJsonSchema({"type": "string", "enum": sorted(WEBHOOK_EVENTS)}),
]
LocationId = Id
Events = Annotated[list[EventName], Field(min_length=1, max_length=MAX_EVENTS)]
Locations = Annotated[list[LocationId], Field(min_length=1, max_length=MAX_LOCATIONS)]
Description = Annotated[str, StringConstraints(max_length=200)]


class WebhookIn(Body):
    url: Url = Field(description="https URL the events are POSTed to")
    events: Events = Field(description="Event types to send (docs/webhooks.md)")
    location_ids: Locations = Field(description="Locations whose events are sent")
    description: Description = ""


class WebhookPatch(Body):
    url: Url | None = None
    events: Events | None = None
    location_ids: Locations | None = None
    description: Description | None = None
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint")


class WebhookOut(Out):
    id: int
    url: str
    description: str
    events: list[str]
    location_ids: list[int]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="First failure since the last success")
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_…: verifies signatures; shown only once")


class WebhookPage(Out):
    items: list[WebhookOut]
    next_cursor: str | None


Status = Literal["pending", "succeeded", "failed", "skipped"]


class DeliveryQuery(PageParams):
    status: Status | None = None


class DeliveryOut(Out):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every retry")
    event_type: str
    location_id: int | None
    event_at: datetime
    status: Status
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


class AttemptOut(Out):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    node: str


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any] = Field(description="The JSON body sent (and signed)")
    attempts_made: list[AttemptOut]


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayRange(Body):
    since: Instant
    until: Instant | None = Field(default=None, description="Default: now")
    only_failed: bool = Field(default=True, description="false: succeeded ones too")


class ReplayQueued(Out):
    queued: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_body(row: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    body = {
        **{k: row[k] for k in ("id", "message_id", "event_type", "location_id", "attempts")},
        "status": DeliveryStatus(row["status"]).value,
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        **{
            k: _iso(row[k])
            for k in ("event_at", "next_attempt_at", "last_attempt_at", "created_at")
        },
    }
    if detail:
        body["payload"] = json.loads(row["payload"])
        body["attempts_made"] = [{**a, "at": a["at"].isoformat()} for a in row["attempts_made"]]
    return body
