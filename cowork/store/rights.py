"""Staff rights in SQL, for queries that must judge them per row (feeds, webhook deliveries).

The Python spelling of the same rule is `cowork.http.auth.managed_location_ids`: an active
admin manages every location, an active manager the ones linked to them, nobody else any.
"""

from __future__ import annotations


def manages_sql(user: str, location_id: str) -> str:
    """A condition: the user row aliased `user` may manage the location `location_id` now."""
    return (
        f"({user}.is_active AND ({user}.role = 'admin' OR ({user}.role = 'manager' AND EXISTS ("
        f"SELECT 1 FROM location_manager lm WHERE lm.users_id = {user}.id"
        f" AND lm.location_id = {location_id}))))"
    )
