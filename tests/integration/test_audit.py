"""The audit log: one entry per staff write, in the write's transaction; GET admin/audit."""

from __future__ import annotations

import json

import pytest

from tests.factories import auth, make_location, make_space, make_user


async def entries_of(db, entity: str, entity_id: int) -> list:
    return await db.fetch(
        "SELECT actor_id, action, before, after, location_id FROM audit_log"
        " WHERE entity = $1 AND entity_id = $2 ORDER BY id",
        entity, str(entity_id),
    )  # fmt: skip


async def test_price_change_records_one_entry_with_old_and_new(client, settings, db):
    location = await make_location()
    space = await make_space(location, hourly_price_cents=1000)
    manager = await make_user("manager", managed=(location,))
    r = await client.patch(
        f"/api/v1/manage/spaces/{space.id}",
        json={"hourly_price_cents": 1500},
        headers=auth(settings, manager),
    )
    assert r.status_code == 200, r.text
    rows = await entries_of(db, "space", space.id)
    assert len(rows) == 1
    before, after = json.loads(rows[0]["before"]), json.loads(rows[0]["after"])
    assert (before["hourly_price_cents"], after["hourly_price_cents"]) == (1000, 1500)
    assert (rows[0]["actor_id"], rows[0]["action"], rows[0]["location_id"]) == (
        manager.id, "update", location.id,
    )  # fmt: skip

    admin = await make_user("admin")
    r = await client.get(
        "/api/v1/admin/audit",
        params={"entity": "space", "entity_id": str(space.id)},
        headers=auth(settings, admin),
    )
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["before"]["hourly_price_cents"] == 1000
    assert item["after"]["hourly_price_cents"] == 1500
    assert item["actor_id"] == manager.id


async def test_a_rolled_back_change_records_nothing(client, settings, db):
    location = await make_location()
    space = await make_space(location, hourly_price_cents=1000)
    manager = await make_user("manager", managed=(location,))
    # Make the audit insert itself fail for one price: the space update ran first, in the same
    # transaction, and must be rolled back with it.
    await db.execute(
        """
        CREATE FUNCTION refuse_4242() RETURNS trigger AS $$
        BEGIN
          IF NEW.after ->> 'hourly_price_cents' = '4242' THEN
            RAISE EXCEPTION 'audit refused';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_4242 BEFORE INSERT ON audit_log
          FOR EACH ROW EXECUTE FUNCTION refuse_4242();
        """
    )
    r = await client.patch(
        f"/api/v1/manage/spaces/{space.id}",
        json={"hourly_price_cents": 4242},
        headers=auth(settings, manager),
    )
    assert r.status_code == 500  # the injected fault; no partial write survives it
    price = await db.fetchval("SELECT hourly_price_cents FROM spaces WHERE id = $1", space.id)
    assert price == 1000
    assert await entries_of(db, "space", space.id) == []
    # A change refused before it is written (a negative price) records nothing either.
    r = await client.patch(
        f"/api/v1/manage/spaces/{space.id}",
        json={"hourly_price_cents": -5},
        headers=auth(settings, manager),
    )
    assert r.status_code == 422
    assert await entries_of(db, "space", space.id) == []


async def test_role_change_is_audited(client, settings, db):
    location = await make_location()
    admin = await make_user("admin")
    user = await make_user()
    r = await client.patch(
        f"/api/v1/admin/users/{user.id}",
        json={"role": "manager", "managed_location_ids": [location.id]},
        headers=auth(settings, admin),
    )
    assert r.status_code == 200, r.text
    (row,) = await entries_of(db, "user", user.id)
    assert json.loads(row["before"]) == {
        "role": "member", "is_active": True, "managed_location_ids": [],
    }  # fmt: skip
    assert json.loads(row["after"]) == {
        "role": "manager", "is_active": True, "managed_location_ids": [location.id],
    }  # fmt: skip
    assert row["actor_id"] == admin.id


async def test_hours_and_closures_are_audited(client, settings, db):
    location = await make_location()
    manager = await make_user("manager", managed=(location,))
    headers = auth(settings, manager)
    r = await client.put(
        f"/api/v1/manage/locations/{location.id}/hours",
        json={"mon": [["09:00", "18:00"]]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/manage/locations/{location.id}/closures",
        json={"start_date": "2026-12-24", "end_date": "2026-12-26", "reason": "xmas"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    closure_id = r.json()["id"]
    assert (await client.delete(
        f"/api/v1/manage/locations/{location.id}/closures/{closure_id}", headers=headers
    )).status_code == 204  # fmt: skip
    actions = [
        (r["action"], r["entity"])
        for r in await db.fetch("SELECT action, entity FROM audit_log ORDER BY id")
    ]
    assert actions == [
        ("update_hours", "location"), ("create", "closure"), ("delete", "closure"),
    ]  # fmt: skip


@pytest.fixture
async def logged(client, settings, db):
    """Entries at two locations by two managers, and one without a location."""
    a, b = await make_location(), await make_location()
    ma = await make_user("manager", managed=(a,))
    mb = await make_user("manager", managed=(b,))
    admin = await make_user("admin")
    sa, sb = await make_space(a), await make_space(b)
    for n in range(3):
        await client.patch(f"/api/v1/manage/spaces/{sa.id}", json={"capacity": n + 2},
                           headers=auth(settings, ma))  # fmt: skip
    await client.patch(f"/api/v1/manage/spaces/{sb.id}", json={"capacity": 9},
                       headers=auth(settings, mb))  # fmt: skip
    r = await client.post("/api/v1/manage/amenities", json={"code": "sauna", "name": "Sauna"},
                          headers=auth(settings, admin))  # fmt: skip
    assert r.status_code == 201
    return {"a": a, "b": b, "ma": ma, "mb": mb, "admin": admin, "sa": sa}


async def test_audit_list_filters_pages_and_scopes(client, settings, logged):
    admin = auth(settings, logged["admin"])
    r = await client.get("/api/v1/admin/audit", headers=admin)
    assert r.status_code == 200
    assert [(i["entity"], i["action"]) for i in r.json()["items"]][:2] == [
        ("amenity", "create"), ("space", "update"),
    ]  # fmt: skip
    assert len(r.json()["items"]) == 5

    # Pages of two, newest first, by actor.
    seen, cursor = [], None
    while True:
        params = {"actor": logged["ma"].id, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/admin/audit", params=params, headers=admin)).json()
        seen += [i["after"]["capacity"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [4, 3, 2]

    r = await client.get(
        "/api/v1/admin/audit", params={"location_id": logged["b"].id}, headers=admin
    )
    assert [i["after"]["capacity"] for i in r.json()["items"]] == [9]
    r = await client.get(
        "/api/v1/admin/audit", params={"from": "2000-01-01T00:00:00+00:00"}, headers=admin
    )
    assert len(r.json()["items"]) == 5
    r = await client.get(
        "/api/v1/admin/audit", params={"to": "2000-01-01T00:00:00+00:00"}, headers=admin
    )
    assert r.json()["items"] == []

    # A manager sees only entries of their own locations (not the amenity, not location b).
    ma = auth(settings, logged["ma"])
    r = await client.get("/api/v1/admin/audit", headers=ma)
    assert r.status_code == 200
    assert {i["location_id"] for i in r.json()["items"]} == {logged["a"].id}
    assert len(r.json()["items"]) == 3
    r = await client.get("/api/v1/admin/audit", params={"location_id": logged["b"].id}, headers=ma)
    assert r.status_code == 403


async def test_audit_refuses_members_and_bad_queries(client, settings, logged):
    member = auth(settings, await make_user())
    assert (await client.get("/api/v1/admin/audit", headers=member)).status_code == 403
    assert (await client.get("/api/v1/admin/audit")).status_code == 401
    admin = auth(settings, logged["admin"])
    for params in ({"from": "2026-01-01T00:00:00"}, {"actor": "x"}, {"cursor": "!!"},
                   {"limit": "0"}):  # fmt: skip
        r = await client.get("/api/v1/admin/audit", params=params, headers=admin)
        assert r.status_code in (400, 422), params
