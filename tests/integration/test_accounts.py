from datetime import datetime, timedelta

import pytest
from factories import auth, make_location, make_user

from cowork.accounts.passwords import hash_password
from cowork.accounts.refresh import new_token, token_hash
from cowork.accounts.throttle import AttemptThrottle
from cowork.accounts.tokens import utcnow
from cowork.store.models import RefreshToken

PASSWORD = "correct horse battery"


def assert_problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def register(client, email="ada@example.com", password=PASSWORD, name="Ada"):
    r = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def login(client, email="ada@example.com", password=PASSWORD):
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def refresh(client, token):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def bearer(tokens):
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def user_with_password(role="member", email=None):
    return await make_user(role, email=email, password_hash=await hash_password(PASSWORD))


# --- register, login, me -------------------------------------------------------------------


async def test_register_login_me_flow(client, settings, db):
    user = await register(client, email="  Ada.Lovelace@Example.COM ", name=" Ada ")
    assert user["email"] == "ada.lovelace@example.com"
    assert user["name"] == "Ada"
    assert user["role"] == "member"
    assert user["managed_location_ids"] == []
    assert datetime.fromisoformat(user["created_at"]).utcoffset() is not None
    assert set(user) == {"id", "email", "name", "role", "managed_location_ids", "created_at"}
    stored = await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user["id"])
    assert stored.startswith("$argon2id$")

    tokens = await login(client, email="ADA.LOVELACE@example.com")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_ttl_seconds
    assert tokens["access_token"]
    assert tokens["refresh_token"]

    r = await client.get("/api/v1/me", headers=bearer(tokens))
    assert r.status_code == 200
    assert r.json() == user


async def test_me_requires_a_token(client):
    assert_problem(await client.get("/api/v1/me"), 401, "unauthorized")
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert_problem(r, 401, "token_invalid")


async def test_duplicate_email_is_refused_case_insensitively(client):
    await register(client, email="ada@example.com")
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "ADA@example.com", "password": "another password", "name": "Other"},
    )
    assert_problem(r, 409, "email_taken")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "a b@example.com"),
        ("email", "x" * 250 + "@example.com"),
        ("password", "short"),
        ("name", ""),
        ("name", "   "),
        ("name", "n" * 121),
    ],
)
async def test_register_validates_fields(client, field, value):
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    body[field] = value
    r = await client.post("/api/v1/auth/register", json=body)
    assert_problem(r, 422, "validation_failed")
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(unknown, 401, "invalid_credentials")
    same = ("type", "title", "status", "detail", "code")
    assert {k: wrong.json()[k] for k in same} == {k: unknown.json()[k] for k in same}


async def test_user_without_usable_password_cannot_log_in(client):
    user = await make_user()  # factory users carry an unusable hash
    r = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert_problem(r, 401, "invalid_credentials")


async def test_inactive_user_cannot_log_in_or_refresh(client, db):
    user = await register(client)
    tokens = await login(client)
    await db.execute("UPDATE users SET is_active = false WHERE id = $1", user["id"])

    assert_problem(
        await client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
        ),
        403,
        "account_inactive",
    )
    assert_problem(await refresh(client, tokens["refresh_token"]), 403, "account_inactive")
    assert_problem(await client.get("/api/v1/me", headers=bearer(tokens)), 403, "account_inactive")
    # The refusal ended the family: reactivation does not revive the old session.
    await db.execute("UPDATE users SET is_active = true WHERE id = $1", user["id"])
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "refresh_token_reused")


# --- refresh tokens ------------------------------------------------------------------------


async def test_refresh_rotates_the_pair(client, db):
    await register(client)
    first = await login(client)
    r = await refresh(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["token_type"] == "bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=bearer(second))).status_code == 200

    r = await refresh(client, second["refresh_token"])
    assert r.status_code == 200, r.text

    rows = await db.fetch(
        "SELECT token_hash, family_id, used_at, revoked_at FROM refresh_tokens ORDER BY id"
    )
    assert len(rows) == 3
    assert len({row["family_id"] for row in rows}) == 1
    assert rows[0]["token_hash"] == token_hash(first["refresh_token"])
    assert [row["used_at"] is not None for row in rows] == [True, True, False]
    assert all(row["revoked_at"] is None for row in rows)
    assert first["refresh_token"] not in {row["token_hash"] for row in rows}


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(client):
    await register(client)
    stolen = await login(client)
    other_device = await login(client)
    rotated = (await refresh(client, stolen["refresh_token"])).json()

    assert_problem(await refresh(client, stolen["refresh_token"]), 401, "refresh_token_reused")
    # The newest token of that family stops working too ...
    assert_problem(await refresh(client, rotated["refresh_token"]), 401, "refresh_token_reused")
    # ... while another login's family is untouched.
    assert (await refresh(client, other_device["refresh_token"])).status_code == 200


async def test_unknown_and_expired_refresh_tokens(client):
    assert_problem(await refresh(client, new_token()), 401, "refresh_token_invalid")

    user = await user_with_password()
    token = new_token()
    await RefreshToken.create(
        user=user,
        token_hash=token_hash(token),
        family_id="00000000-0000-4000-8000-000000000001",
        expires_at=utcnow() - timedelta(seconds=1),
    )
    assert_problem(await refresh(client, token), 401, "refresh_token_expired")


async def test_logout_revokes_the_family(client):
    await register(client)
    tokens = await login(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()

    r = await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await refresh(client, rotated["refresh_token"]), 401, "refresh_token_reused")
    # Logging out twice, or with a token we never issued, is not an error.
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 204
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": new_token()})
    assert r.status_code == 204


# --- PATCH me ------------------------------------------------------------------------------


async def test_patch_me_changes_name(client):
    user = await register(client)
    tokens = await login(client)
    r = await client.patch("/api/v1/me", json={"name": "  Countess  "}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    assert r.json() == {**user, "name": "Countess"}
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).json()["name"] == "Countess"
    r = await client.patch("/api/v1/me", json={}, headers=bearer(tokens))
    assert r.json()["name"] == "Countess"


async def test_patch_me_changes_password(client):
    await register(client)
    tokens = await login(client)
    headers = bearer(tokens)
    new = "a much better passphrase"

    r = await client.patch("/api/v1/me", json={"password": new}, headers=headers)
    assert_problem(r, 422, "current_password_required")
    r = await client.patch(
        "/api/v1/me", json={"password": new, "current_password": "wrong one"}, headers=headers
    )
    assert_problem(r, 403, "current_password_wrong")
    r = await client.patch("/api/v1/me", json={"password": "short"}, headers=headers)
    assert_problem(r, 422, "validation_failed")

    r = await client.patch(
        "/api/v1/me", json={"password": new, "current_password": PASSWORD}, headers=headers
    )
    assert r.status_code == 200, r.text
    old = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert_problem(old, 401, "invalid_credentials")
    await login(client, password=new)
    # A new password ends the logins made with the old one.
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "refresh_token_reused")


# --- admin ---------------------------------------------------------------------------------


async def test_admin_changes_role_and_assigns_locations(client, settings):
    admin = await make_user("admin")
    member = await user_with_password(email="mia@example.com")
    loc1, loc2 = await make_location(), await make_location()
    path = f"/api/v1/admin/users/{member.id}"
    headers = auth(settings, admin)

    r = await client.patch(
        path,
        json={"role": "manager", "managed_location_ids": [loc2.id, loc1.id]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "manager"
    assert body["managed_location_ids"] == sorted([loc1.id, loc2.id])
    assert body["is_active"] is True

    me = await client.get("/api/v1/me", headers=bearer(await login(client, "mia@example.com")))
    assert me.json()["role"] == "manager"
    assert me.json()["managed_location_ids"] == sorted([loc1.id, loc2.id])

    r = await client.patch(path, json={"managed_location_ids": [loc1.id]}, headers=headers)
    assert r.json()["managed_location_ids"] == [loc1.id]

    r = await client.patch(path, json={"managed_location_ids": [loc1.id, 999_999]}, headers=headers)
    assert_problem(r, 422, "unknown_location")
    assert r.json()["location_ids"] == [999_999]

    r = await client.patch(path, json={"role": "member"}, headers=headers)
    assert r.json()["role"] == "member"
    assert r.json()["managed_location_ids"] == []

    r = await client.patch(path, json={"managed_location_ids": [loc1.id]}, headers=headers)
    assert_problem(r, 422, "not_a_manager")

    r = await client.patch(path, json={"role": "superuser"}, headers=headers)
    assert_problem(r, 422, "validation_failed")


async def test_admin_deactivation_ends_sessions(client, settings):
    admin = await make_user("admin")
    member = await user_with_password(email="mia@example.com")
    tokens = await login(client, "mia@example.com")
    r = await client.patch(
        f"/api/v1/admin/users/{member.id}",
        json={"is_active": False},
        headers=auth(settings, admin),
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "refresh_token_reused")
    r = await client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert_problem(r, 403, "account_inactive")


async def test_admin_cannot_lock_themselves_out(client, settings):
    admin = await make_user("admin")
    path = f"/api/v1/admin/users/{admin.id}"
    for change in ({"role": "member"}, {"is_active": False}):
        r = await client.patch(path, json=change, headers=auth(settings, admin))
        assert_problem(r, 409, "self_lockout")


async def test_admin_patch_unknown_user(client, settings):
    admin = await make_user("admin")
    r = await client.patch(
        "/api/v1/admin/users/999999", json={"role": "member"}, headers=auth(settings, admin)
    )
    assert_problem(r, 404, "user_not_found")


async def test_admin_lists_users_with_filters_and_pages(client, settings):
    admin = await make_user("admin", email="root@corp.example")
    await make_user(email="alice@corp.example")
    await make_user(email="bob@home.example")
    await make_user("manager", email="carol@corp.example")
    headers = auth(settings, admin)

    r = await client.get("/api/v1/admin/users", params={"limit": 3}, headers=headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    r = await client.get(
        "/api/v1/admin/users", params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    )
    second = r.json()
    assert second["next_cursor"] is None
    emails = [u["email"] for u in first["items"] + second["items"]]
    assert emails == [
        "root@corp.example",
        "alice@corp.example",
        "bob@home.example",
        "carol@corp.example",
    ]
    assert {"is_active", "managed_location_ids"} <= set(first["items"][0])

    r = await client.get("/api/v1/admin/users", params={"email": "CORP"}, headers=headers)
    assert [u["email"] for u in r.json()["items"]] == [
        "root@corp.example",
        "alice@corp.example",
        "carol@corp.example",
    ]
    r = await client.get("/api/v1/admin/users", params={"role": "manager"}, headers=headers)
    assert [u["email"] for u in r.json()["items"]] == ["carol@corp.example"]
    r = await client.get("/api/v1/admin/users", params={"role": "owner"}, headers=headers)
    assert_problem(r, 422, "invalid_query")


@pytest.mark.parametrize("role", ["member", "manager"])
async def test_non_admins_get_403_on_admin_users(client, settings, role):
    caller = await make_user(role)
    other = await make_user()
    headers = auth(settings, caller)
    # There is no endpoint to read another member's profile; the admin list is the only one.
    assert_problem(await client.get("/api/v1/admin/users", headers=headers), 403, "forbidden")
    r = await client.patch(
        f"/api/v1/admin/users/{other.id}", json={"role": "admin"}, headers=headers
    )
    assert_problem(r, 403, "forbidden")
    r = await client.patch(
        f"/api/v1/admin/users/{caller.id}", json={"role": "admin"}, headers=headers
    )
    assert_problem(r, 403, "forbidden")


async def test_admin_users_needs_a_token(client):
    assert_problem(await client.get("/api/v1/admin/users"), 401, "unauthorized")


# --- throttling ----------------------------------------------------------------------------


async def test_login_is_throttled_after_repeated_failures(client, settings):
    await register(client)
    limit = settings.login_attempts_per_minute
    bad = {"email": "ada@example.com", "password": "wrong password"}
    for _ in range(limit):
        assert_problem(
            await client.post("/api/v1/auth/login", json=bad), 401, "invalid_credentials"
        )

    r = await client.post("/api/v1/auth/login", json=bad)
    assert_problem(r, 429, "too_many_attempts")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # The right password does not get through while the window is full ...
    good = {"email": "ADA@example.com", "password": PASSWORD}
    assert_problem(await client.post("/api/v1/auth/login", json=good), 429, "too_many_attempts")
    # ... and other accounts from the same client are not locked out.
    await register(client, email="bob@example.com")
    await login(client, "bob@example.com")


async def test_successful_login_forgives_earlier_failures(client, settings):
    await register(client)
    bad = {"email": "ada@example.com", "password": "wrong password"}
    for _ in range(settings.login_attempts_per_minute - 1):
        assert_problem(
            await client.post("/api/v1/auth/login", json=bad), 401, "invalid_credentials"
        )
    await login(client)
    for _ in range(settings.login_attempts_per_minute - 1):
        assert_problem(
            await client.post("/api/v1/auth/login", json=bad), 401, "invalid_credentials"
        )


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_window_slides():
    clock = FakeClock()
    throttle = AttemptThrottle(3, 60, clock=clock)
    for _ in range(3):
        assert throttle.attempt("k") is None
        clock.now += 10
    assert throttle.attempt("k") == pytest.approx(30)  # the first attempt leaves at t=1060
    clock.now = 1060
    assert throttle.attempt("k") is None
    assert throttle.attempt("k") == pytest.approx(10)
    assert throttle.attempt("other") is None


def test_throttle_forgives_and_stays_bounded():
    clock = FakeClock()
    throttle = AttemptThrottle(1, 60, max_keys=2, clock=clock)
    assert throttle.attempt("a") is None
    assert throttle.attempt("a") is not None
    throttle.forgive("a")
    assert throttle.attempt("a") is None
    throttle.attempt("b")
    throttle.attempt("c")
    assert len(throttle) == 2
    assert throttle.attempt("a") is None  # the oldest key was dropped to make room
