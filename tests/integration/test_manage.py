"""Management API: who may do what, and what each write changes or refuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import auth, make_location, make_space, make_user

NEW_LOCATION = {
    "name": "Cowork Torino",
    "city": "Turin",
    "address": "Via Po 1",
    "timezone": "Europe/Rome",
}
NEW_SPACE = {"name": "Desk 9", "type": "desk", "hourly_price_cents": 300, "amenities": ["wifi"]}


@dataclass
class Staff:
    settings: Any
    mine: int  # managed by `manager`
    other: int  # managed by `other_manager`
    my_space: int
    other_space: int
    my_closure: int
    other_closure: int
    admin: dict[str, str]
    manager: dict[str, str]
    other_manager: dict[str, str]
    member: dict[str, str]


@pytest.fixture
async def staff(client, settings, db) -> Staff:
    mine = await make_location(name="Mine")
    other = await make_location(name="Other", city="London", timezone="Europe/London")
    my_space = await make_space(mine, amenities=("wifi",))
    other_space = await make_space(other, amenities=("monitor",))
    closures = []
    for loc in (mine, other):
        closures.append(
            await db.fetchval(
                """INSERT INTO closures (location_id, start_date, end_date, reason, created_at)
                   VALUES ($1, '2030-01-01', '2030-01-01', 'x', now()) RETURNING id""",
                loc.id,
            )
        )
    return Staff(
        settings,
        mine.id,
        other.id,
        my_space.id,
        other_space.id,
        closures[0],
        closures[1],
        admin=auth(settings, await make_user("admin")),
        manager=auth(settings, await make_user("manager", managed=(mine,))),
        other_manager=auth(settings, await make_user("manager", managed=(other,))),
        member=auth(settings, await make_user("member")),
    )


def calls(loc: int, space: int, closure: int) -> dict[str, tuple[str, str, Any]]:
    base = f"/api/v1/manage/locations/{loc}"
    return {
        "get_location": ("GET", base, None),
        "patch_location": ("PATCH", base, {"description": "Bright"}),
        "put_hours": ("PUT", f"{base}/hours", {"mon": [["08:00", "20:00"]]}),
        "list_closures": ("GET", f"{base}/closures", None),
        "create_closure": (
            "POST",
            f"{base}/closures",
            {"start_date": "2030-12-25", "end_date": "2030-12-26", "reason": "Christmas"},
        ),
        "delete_closure": ("DELETE", f"{base}/closures/{closure}", None),
        "list_spaces": ("GET", f"{base}/spaces", None),
        "create_space": ("POST", f"{base}/spaces", NEW_SPACE),
        "patch_space": ("PATCH", f"/api/v1/manage/spaces/{space}", {"capacity": 2}),
    }


GLOBAL = {
    "list_locations": ("GET", "/api/v1/manage/locations", None),
    "create_location": ("POST", "/api/v1/manage/locations", NEW_LOCATION),
    "list_amenities": ("GET", "/api/v1/manage/amenities", None),
    "create_amenity": ("POST", "/api/v1/manage/amenities", {"code": "sauna", "name": "Sauna"}),
}
SCOPED = tuple(calls(0, 0, 0))
EVERY = SCOPED + tuple(GLOBAL)


def mine(s: Staff) -> dict[str, tuple[str, str, Any]]:
    return calls(s.mine, s.my_space, s.my_closure) | GLOBAL


async def send(client, call, headers):
    method, path, body = call
    return await client.request(method, path, json=body, headers=headers)


def assert_problem(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


# Authorization: one server per role, every endpoint in a loop (a server per case is slow).


async def expect_each(client, todo, headers, statuses: tuple[int, ...], code: str | None = None):
    failures = []
    for name, call in todo.items():
        r = await send(client, call, headers)
        got = r.json().get("code") if r.content else None
        if r.status_code not in statuses or (code is not None and got != code):
            failures.append(f"{name}: {r.status_code} {got}")
    assert not failures, "\n".join(failures)


async def test_member_is_refused_everywhere(client, staff):
    assert len(mine(staff)) == len(EVERY)
    await expect_each(client, mine(staff), staff.member, (403,), "forbidden")


async def test_anonymous_is_unauthorized_everywhere(client, staff):
    await expect_each(client, mine(staff), {}, (401,), "unauthorized")


async def test_manager_is_refused_on_other_location(client, staff):
    theirs = calls(staff.other, staff.other_space, staff.other_closure)
    await expect_each(client, theirs, staff.manager, (403,), "forbidden")


async def test_manager_works_on_own_location(client, staff):
    own = calls(staff.mine, staff.my_space, staff.my_closure)
    await expect_each(client, own, staff.manager, (200, 201, 204))


async def test_admin_works_everywhere(client, staff):
    for loc, space, closure in (
        (staff.mine, staff.my_space, staff.my_closure),
        (staff.other, staff.other_space, staff.other_closure),
    ):
        await expect_each(client, calls(loc, space, closure), staff.admin, (200, 201, 204))
    await expect_each(client, GLOBAL, staff.admin, (200, 201))


async def test_manager_may_use_amenities_but_not_create_locations(client, staff):
    assert (await send(client, GLOBAL["list_amenities"], staff.manager)).status_code == 200
    assert (await send(client, GLOBAL["create_amenity"], staff.manager)).status_code == 201
    r = await send(client, GLOBAL["create_location"], staff.manager)
    assert_problem(r, 403, "forbidden")


async def test_manager_lists_only_managed_locations(client, staff):
    r = await client.get("/api/v1/manage/locations", headers=staff.manager)
    assert [i["id"] for i in r.json()["items"]] == [staff.mine]
    r = await client.get("/api/v1/manage/locations", headers=staff.admin)
    assert {i["id"] for i in r.json()["items"]} == {staff.mine, staff.other}


async def test_only_admins_change_active(client, staff):
    path = f"/api/v1/manage/locations/{staff.mine}"
    r = await client.patch(path, json={"active": False}, headers=staff.manager)
    assert_problem(r, 403, "forbidden")
    r = await client.patch(path, json={"active": False}, headers=staff.admin)
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert (await client.get(f"/api/v1/locations/{staff.mine}")).status_code == 404
    # still managed: the manager sees it in the management API
    assert (await client.get(path, headers=staff.manager)).status_code == 200


async def test_missing_things_are_404(client, staff):
    h = staff.admin
    for method, path, code in (
        ("GET", "/api/v1/manage/locations/999999", "location_not_found"),
        ("GET", f"/api/v1/manage/locations/{2**40}", "location_not_found"),
        (
            "DELETE",
            f"/api/v1/manage/locations/{staff.mine}/closures/{staff.other_closure}",
            "not_found",
        ),
    ):
        assert_problem(await client.request(method, path, headers=h), 404, code)
    r = await client.patch("/api/v1/manage/spaces/999999", json={"capacity": 2}, headers=h)
    assert_problem(r, 404, "space_not_found")


async def test_create_location_defaults(client, staff, db):
    r = await client.post("/api/v1/manage/locations", json=NEW_LOCATION, headers=staff.admin)
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"/api/v1/manage/locations/{body['id']}"
    assert body["currency"] == "EUR"
    assert body["opening_hours"]["mon"] == [["08:00", "20:00"]]
    assert body["opening_hours"]["sun"] == []
    assert body["cancellation_policy"][0] == {"hours_before": 24, "percent": 100}
    assert body["booking_rules"]["max_days_ahead"] == 180
    public = await client.get(f"/api/v1/locations/{body['id']}")
    assert public.json()["name"] == "Cowork Torino"
    audit = await db.fetchrow(
        "SELECT action, entity FROM audit_log WHERE entity_id = $1", str(body["id"])
    )
    assert dict(audit) == {"action": "create", "entity": "location"}


async def test_patch_location_fields(client, staff):
    patch = {
        "name": "Renamed",
        "timezone": "Europe/London",
        "currency": "GBP",
        "floors": [{"level": 1, "name": "Top"}, {"level": 0, "name": "Ground"}],
        "cancellation_policy": [
            {"hours_before": 2, "percent": 50},
            {"hours_before": 48, "percent": 100},
        ],
        "booking_rules": {"granularity_minutes": 30},
    }
    r = await client.patch(
        f"/api/v1/manage/locations/{staff.mine}", json=patch, headers=staff.manager
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["timezone"], body["currency"]) == ("Renamed", "Europe/London", "GBP")
    assert [f["level"] for f in body["floors"]] == [0, 1]
    assert body["floors"][0]["width"] == 100
    assert body["cancellation_policy"] == [
        {"hours_before": 48, "percent": 100},
        {"hours_before": 2, "percent": 50},
    ]
    assert body["booking_rules"]["granularity_minutes"] == 30
    assert body["booking_rules"]["min_minutes"] == 15
    # a second patch merges rules and leaves the rest alone
    r = await client.patch(
        f"/api/v1/manage/locations/{staff.mine}",
        json={"booking_rules": {"min_minutes": 60}},
        headers=staff.manager,
    )
    assert r.json()["booking_rules"]["granularity_minutes"] == 30
    assert r.json()["booking_rules"]["min_minutes"] == 60
    assert r.json()["name"] == "Renamed"


async def test_put_hours(client, staff):
    hours = {"mon": [["08:00", "12:00"], ["13:00", "20:00"]], "sat": [["09:00", "14:00"]]}
    r = await client.put(
        f"/api/v1/manage/locations/{staff.mine}/hours", json=hours, headers=staff.manager
    )
    assert r.status_code == 200
    got = r.json()["opening_hours"]
    assert got["mon"] == hours["mon"]
    assert got["sat"] == hours["sat"]
    assert got["tue"] == []
    public = await client.get(f"/api/v1/locations/{staff.mine}")
    assert public.json()["opening_hours"] == got


async def test_closures_lifecycle(client, staff):
    base = f"/api/v1/manage/locations/{staff.mine}/closures"
    r = await client.post(
        base,
        json={"start_date": "2099-08-15", "end_date": "2099-08-15", "reason": "Ferragosto"},
        headers=staff.manager,
    )
    assert r.status_code == 201
    created = r.json()
    assert created["start_date"] == "2099-08-15"
    listed = (await client.get(base, headers=staff.manager)).json()["items"]
    assert [c["id"] for c in listed] == [staff.my_closure, created["id"]]
    public = (await client.get(f"/api/v1/locations/{staff.mine}")).json()["closures"]
    assert [c["id"] for c in public] == [staff.my_closure, created["id"]]
    r = await client.delete(f"{base}/{created['id']}", headers=staff.manager)
    assert r.status_code == 204
    listed = (await client.get(base, headers=staff.manager)).json()["items"]
    assert [c["id"] for c in listed] == [staff.my_closure]


async def test_spaces_lifecycle(client, staff):
    base = f"/api/v1/manage/locations/{staff.mine}/spaces"
    body = {
        "name": "Room A",
        "type": "meeting_room",
        "capacity": 6,
        "hourly_price_cents": 2500,
        "daily_price_cents": 15000,
        "floor": 0,
        "x": 10,
        "y": 20,
        "width": 20,
        "height": 14,
        "amenities": ["wifi", "monitor"],
    }
    r = await client.post(base, json=body, headers=staff.manager)
    assert r.status_code == 201, r.text
    space = r.json()
    assert space["amenities"] == ["monitor", "wifi"]
    assert (space["x"], space["y"], space["width"], space["height"]) == (10, 20, 20, 14)
    assert r.headers["location"] == f"/api/v1/spaces/{space['id']}"
    assert (await client.get(f"/api/v1/spaces/{space['id']}")).json()["capacity"] == 6

    patch = {"amenities": ["wifi"], "daily_price_cents": None, "type": "private_office"}
    r = await client.patch(
        f"/api/v1/manage/spaces/{space['id']}", json=patch, headers=staff.manager
    )
    assert r.status_code == 200, r.text
    assert r.json()["amenities"] == ["wifi"]
    assert r.json()["daily_price_cents"] is None
    assert r.json()["type"] == "private_office"
    assert r.json()["hourly_price_cents"] == 2500

    r = await client.patch(
        f"/api/v1/manage/spaces/{space['id']}", json={"active": False}, headers=staff.manager
    )
    assert r.json()["active"] is False
    assert (await client.get(f"/api/v1/spaces/{space['id']}")).status_code == 404
    managed = (await client.get(base, headers=staff.manager)).json()["items"]
    assert {s["id"] for s in managed} == {staff.my_space, space["id"]}
    public = (await client.get(f"/api/v1/locations/{staff.mine}/spaces")).json()["items"]
    assert [s["id"] for s in public] == [staff.my_space]


async def test_amenity_create_and_duplicate(client, staff):
    r = await client.post(
        "/api/v1/manage/amenities", json={"code": "sauna", "name": "Sauna"}, headers=staff.admin
    )
    assert r.status_code == 201
    assert r.json()["code"] == "sauna"
    r = await client.post(
        "/api/v1/manage/amenities", json={"code": "sauna", "name": "Again"}, headers=staff.admin
    )
    assert_problem(r, 409, "amenity_exists")
    codes = [a["code"] for a in (await client.get("/api/v1/amenities")).json()["items"]]
    assert "sauna" in codes


@pytest.mark.parametrize(
    ("where", "body", "code"),
    [
        ("hours", {"mon": [["20:00", "08:00"]]}, "invalid_opening_hours"),
        ("hours", {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}, "invalid_opening_hours"),
        ("hours", {"mon": [["8am", "12:00"]]}, "validation_failed"),
        ("hours", {"mon": [["08:00"]]}, "validation_failed"),
        ("hours", {"mon": [["08:00", "25:00"]]}, "validation_failed"),
        ("location", {"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ("location", {"timezone": " Europe/Rome"}, "invalid_timezone"),
        ("location", {"currency": "eur"}, "validation_failed"),
        ("location", {"currency": "EURO"}, "validation_failed"),
        (
            "location",
            {"cancellation_policy": [{"hours_before": 24, "percent": 120}]},
            "validation_failed",
        ),
        (
            "location",
            {"cancellation_policy": [{"hours_before": -1, "percent": 10}]},
            "validation_failed",
        ),
        (
            "location",
            {"cancellation_policy": [{"hours": 24, "percent": 10}]},
            "validation_failed",
        ),
        (
            "location",
            {
                "cancellation_policy": [
                    {"hours_before": 24, "percent": 10},
                    {"hours_before": 24, "percent": 50},
                ]
            },
            "invalid_cancellation_policy",
        ),
        (
            "location",
            {"cancellation_policy": [{"hours_before": 10**9, "percent": 10}]},
            "validation_failed",
        ),
        ("location", {"booking_rules": {"granularity_minutes": 7}}, "invalid_booking_limits"),
        (
            "location",
            {"booking_rules": {"min_minutes": 120, "max_minutes": 60}},
            "invalid_booking_limits",
        ),
        ("location", {"booking_rules": {"speed": 1}}, "validation_failed"),
        (
            "location",
            {"floors": [{"level": 0, "name": "A"}, {"level": 0, "name": "B"}]},
            "invalid_input",
        ),
        ("location", {"name": None}, "validation_failed"),
        ("location", {"name": ""}, "validation_failed"),
        ("space", {"hourly_price_cents": -1}, "validation_failed"),
        ("space", {"daily_price_cents": -100}, "validation_failed"),
        ("space", {"capacity": 0}, "validation_failed"),
        ("space", {"type": "sofa"}, "validation_failed"),
        ("space", {"x": -1}, "validation_failed"),
        ("space", {"floor": 3}, "unknown_floor"),
        ("space", {"x": 95, "width": 10}, "outside_floor"),
        ("space", {"amenities": ["wifi", "teleporter"]}, "unknown_amenity"),
        ("space", {"hourly_price_cents": 2**40}, "validation_failed"),
        ("closure", {"start_date": "2030-02-02", "end_date": "2030-02-01"}, "invalid_closure"),
        ("closure", {"start_date": "2030-02-30", "end_date": "2030-03-01"}, "validation_failed"),
        ("amenity", {"code": "Hot Tub", "name": "Hot tub"}, "validation_failed"),
    ],
)
async def test_invalid_writes_are_422(client, staff, db, where, body, code):
    path = {
        "hours": ("PUT", f"/api/v1/manage/locations/{staff.mine}/hours"),
        "location": ("PATCH", f"/api/v1/manage/locations/{staff.mine}"),
        "space": ("PATCH", f"/api/v1/manage/spaces/{staff.my_space}"),
        "closure": ("POST", f"/api/v1/manage/locations/{staff.mine}/closures"),
        "amenity": ("POST", "/api/v1/manage/amenities"),
    }[where]
    before = await db.fetchval("SELECT count(*) FROM audit_log")
    r = await client.request(*path, json=body, headers=staff.admin)
    assert_problem(r, 422, code)
    assert await db.fetchval("SELECT count(*) FROM audit_log") == before


async def test_create_location_with_bad_timezone(client, staff):
    body = NEW_LOCATION | {"timezone": "Europe/Atlantis"}
    r = await client.post("/api/v1/manage/locations", json=body, headers=staff.admin)
    assert_problem(r, 422, "invalid_timezone")
