"""Account changes: a member's own profile and an admin's changes to users (audited)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from cowork.accounts import passwords, refresh
from cowork.accounts.epochs import bump_epoch
from cowork.accounts.tokens import Role
from cowork.actions.effects import Effects
from cowork.actions.sessions import end_access
from cowork.domain.problems import Problem
from cowork.store import audit
from cowork.store.models import Location, User


async def managed_ids(user: User) -> list[int]:
    return sorted(loc.id for loc in await user.managed_locations.all())


async def update_profile(
    fx: Effects,
    user: User,
    *,
    name: str | None = None,
    password: str | None = None,
    current_password: str | None = None,
) -> User:
    """A new name and/or password; a new password ends every other login."""
    fields = []
    if name is not None:
        user.name = name
        fields.append("name")
    if password is not None:
        await passwords.change_password(user, current_password, password)
        fields.append("password_hash")
    if fields:
        await user.save(update_fields=[*fields, "updated_at"])
    if password is not None:
        await refresh.revoke_user(user.id, now=fx.clock.now())
        await end_access(fx, user.id)
    return user


async def _existing_locations(ids: list[int]) -> list[Location]:
    wanted = set(ids)
    locations = await Location.filter(id__in=wanted)
    missing = wanted - {loc.id for loc in locations}
    if missing:
        raise Problem.UNKNOWN_LOCATION.error(
            "Some managed_location_ids name no location.", location_ids=sorted(missing)
        )
    return locations


async def administer(
    fx: Effects,
    admin_id: int,
    user: User,
    *,
    role: Role | None = None,
    is_active: bool | None = None,
    managed_location_ids: list[int] | None = None,
) -> list[int]:
    """An admin changes a user's role, activation or managed locations; the managed ids after."""
    new_role = role or Role(user.role)
    if user.id == admin_id and (new_role is not Role.ADMIN or is_active is False):
        raise Problem.SELF_LOCKOUT.error("Another admin must change your own role or activation.")
    if managed_location_ids and new_role is not Role.MANAGER:
        raise Problem.NOT_A_MANAGER.error("Set role to manager to assign locations.")
    locations: list[Location] | None = None
    if managed_location_ids is not None:
        locations = await _existing_locations(managed_location_ids)
    elif new_role is not Role.MANAGER:
        locations = []
    managed_before = await managed_ids(user)
    before = {
        "role": user.role,
        "is_active": user.is_active,
        "managed_location_ids": managed_before,
    }
    async with in_transaction() as conn:
        user.role = new_role.value
        if is_active is not None:
            user.is_active = is_active
        await user.save(update_fields=["role", "is_active", "updated_at"])
        if locations is not None:
            await user.managed_locations.clear()
            if locations:
                await user.managed_locations.add(*locations)
        after = {
            "role": user.role,
            "is_active": user.is_active,
            "managed_location_ids": (
                managed_before if locations is None else sorted(loc.id for loc in locations)
            ),
        }
        await audit.record(conn, admin_id, "update", "user", user.id, None, before, after)
        demoted = before["role"] != user.role or (before["is_active"] and not user.is_active)
        if demoted:
            await bump_epoch(user.id, conn)
    if not user.is_active:
        await refresh.revoke_user(user.id, now=fx.clock.now())
    if demoted:
        await fx.users_changed(user.id)  # old tokens die on every node, open streams end
    return await managed_ids(user)
