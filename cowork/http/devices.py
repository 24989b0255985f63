"""A member's push devices and notification preferences; the VAPID key browsers subscribe with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, RootModel, StringConstraints
from sanic import Blueprint, HTTPResponse, Request, empty, json

from cowork.actions import devices as actions
from cowork.domain.notifications import (
    MAX_REMINDER_LEAD,
    MIN_REMINDER_LEAD,
    Kind,
    Preferences,
)
from cowork.domain.problems import Problem
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.docs import Auth, Link, Out, doc
from cowork.http.parsing import (
    Body,
    LocalTime,
    PageParams,
    page_body,
    paginate,
    parse_body,
    parse_query,
)
from cowork.notify.access import vapid_public_key
from cowork.store import notify as store
from cowork.store.notify import NewDevice
from cowork.store.notify_models import PushDevice

bp = Blueprint("devices")

TAG = "notifications"
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[\w:.\-]+$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w\-=]+$")]


class SubscriptionKeys(Body):
    p256dh: Key
    auth: Key


class PushSubscription(Body):
    """A browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    expiration_time: int | None = Field(default=None, alias="expirationTime")
    keys: SubscriptionKeys


Locale = Annotated[str, StringConstraints(max_length=16)]
Topic = Annotated[str, StringConstraints(max_length=255, pattern=r"^[\w.\-]+$")]


class WebPushDeviceIn(Body):
    """A browser, by its Web Push subscription."""

    kind: Literal["webpush"]
    subscription: PushSubscription
    locale: Locale | None = None

    def device(self) -> NewDevice:
        keys = self.subscription.keys
        return NewDevice(
            "webpush", self.subscription.endpoint, keys.p256dh, keys.auth, locale=self.locale
        )


class FcmDeviceIn(Body):
    """An Android app, by its FCM registration token."""

    kind: Literal["fcm"]
    token: Token
    locale: Locale | None = None

    def device(self) -> NewDevice:
        return NewDevice("fcm", self.token, locale=self.locale)


class ApnsDeviceIn(Body):
    """An iOS app, by its APNs device token."""

    kind: Literal["apns"]
    token: Token
    topic: Topic | None = Field(None, description="The app's bundle id")
    locale: Locale | None = None

    def device(self) -> NewDevice:
        return NewDevice("apns", self.token, topic=self.topic, locale=self.locale)


# The kinds differ in what they send; the document says so (oneOf on `kind`).
class DeviceIn(
    RootModel[Annotated[WebPushDeviceIn | FcmDeviceIn | ApnsDeviceIn, Field(discriminator="kind")]]
):
    pass


class DeviceOut(Out):
    id: int
    kind: str
    hint: str  # the push service's host, or the token's last characters
    topic: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None


class DevicePage(Out):
    items: list[DeviceOut]
    next_cursor: str | None


class QuietHoursIn(Body):
    start: LocalTime
    end: LocalTime


ReminderLead = Annotated[int, Field(ge=MIN_REMINDER_LEAD, le=MAX_REMINDER_LEAD)]


class PreferencesIn(Body):
    push: list[Kind] = Field(max_length=len(Kind))
    email: list[Kind] = Field(max_length=len(Kind))
    reminder_lead_minutes: ReminderLead
    quiet_hours: QuietHoursIn | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    locale: Literal["en", "it"] = "en"
    urgent_during_quiet_hours: bool = True


class QuietHoursOut(Out):
    start: LocalTime
    end: LocalTime


class PreferencesOut(Out):
    push: list[Kind]
    email: list[Kind]
    reminder_lead_minutes: int
    quiet_hours: QuietHoursOut | None
    timezone: str | None
    locale: Literal["en", "it"]
    urgent_during_quiet_hours: bool


class VapidKey(Out):
    public_key: str


def device_body(d: store.DeviceRow | PushDevice) -> dict[str, Any]:
    hint = urlsplit(d.address).hostname or "" if d.kind == "webpush" else f"…{d.address[-6:]}"
    return DeviceOut(
        id=d.id,
        kind=d.kind,
        hint=hint,
        topic=d.topic,
        locale=d.locale,
        created_at=d.created_at,
        updated_at=d.updated_at,
        last_success_at=d.last_success_at,
    ).model_dump(mode="json")


def preferences_body(p: Preferences) -> dict[str, Any]:
    quiet = p.quiet_hours
    return PreferencesOut(
        push=sorted(p.push),
        email=sorted(p.email),
        reminder_lead_minutes=p.reminder_lead_minutes,
        quiet_hours=QuietHoursOut(start=quiet.start, end=quiet.end) if quiet else None,
        timezone=p.timezone,
        locale="it" if p.locale == "it" else "en",
        urgent_during_quiet_hours=p.urgent_during_quiet_hours,
    ).model_dump(mode="json")


@bp.post("/api/v1/me/devices")
@doc(
    "Register this device for pushes (the same endpoint or token again updates it)",
    tag=TAG,
    body=DeviceIn,
    response=DeviceOut,
    status=201,
    also=(200,),
    links={
        "delete": Link("devices_remove", {"device_id": "$response.body#/id"}, "Stop pushing to it"),
    },
    errors=(
        Problem.PUSH_CHANNEL_NOT_CONFIGURED,
        Problem.PUSH_ENDPOINT_REFUSED,
        Problem.INVALID_PUSH_SUBSCRIPTION,
    ),
)
async def register(request: Request) -> HTTPResponse:
    principal = require_user(request)
    body = parse_body(request, DeviceIn)
    node = services(request)
    row, created = await actions.register_device(
        node, node.settings, principal.user_id, body.root.device()
    )
    return json(device_body(row), status=201 if created else 200)


@bp.get("/api/v1/me/devices")
@doc("My push devices", tag=TAG, query=PageParams, response=DevicePage)
async def list_devices(request: Request) -> HTTPResponse:
    principal = require_user(request)
    page = parse_query(request, PageParams)
    rows, cursor = await paginate(PushDevice.filter(user_id=principal.user_id), page)
    return json(page_body([device_body(d) for d in rows], cursor))


@bp.delete("/api/v1/me/devices/<device_id:int>")
@doc("Stop pushing to one of my devices", tag=TAG, status=204, errors=(Problem.DEVICE_NOT_FOUND,))
async def remove(request: Request, device_id: int) -> HTTPResponse:
    principal = require_user(request)
    await actions.remove_device(services(request), principal.user_id, device_id)
    return empty()


@bp.get("/api/v1/me/notification-preferences")
@doc("Which notifications reach me, how, and when not", tag=TAG, response=PreferencesOut)
async def get_preferences(request: Request) -> HTTPResponse:
    principal = require_user(request)
    return json(preferences_body(await store.get_preferences(principal.user_id)))


@bp.put("/api/v1/me/notification-preferences")
@doc(
    "Replace my notification preferences",
    tag=TAG,
    body=PreferencesIn,
    response=PreferencesOut,
    errors=(Problem.INVALID_NOTIFICATION_PREFERENCES, Problem.INVALID_TIMEZONE),
)
async def put_preferences(request: Request) -> HTTPResponse:
    principal = require_user(request)
    body = parse_body(request, PreferencesIn)
    quiet = body.quiet_hours
    prefs = await actions.set_preferences(
        services(request),
        principal.user_id,
        push=frozenset(body.push),
        email=frozenset(body.email),
        reminder_lead_minutes=body.reminder_lead_minutes,
        quiet_hours=(quiet.start, quiet.end) if quiet else None,
        timezone=body.timezone,
        locale=body.locale,
        urgent_during_quiet_hours=body.urgent_during_quiet_hours,
    )
    return json(preferences_body(prefs))


@bp.get("/api/v1/push/vapid-public-key")
@doc(
    "The VAPID key browsers subscribe with",
    tag=TAG,
    response=VapidKey,
    auth=Auth.NONE,
    errors=(Problem.WEBPUSH_NOT_CONFIGURED,),
)
async def vapid_key(request: Request) -> HTTPResponse:
    key = vapid_public_key(services(request).settings)
    if key is None:
        raise Problem.WEBPUSH_NOT_CONFIGURED.error()
    return json({"public_key": key}, headers={"Cache-Control": "public, max-age=3600"})
