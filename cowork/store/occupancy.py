"""What holds a space at an instant, in SQL: the one spelling of `domain.states.occupies`.

Statuses are literals (not parameters) so the planner can use the exclusion constraint's
partial gist index; every value is still a `$n` parameter.
"""

from __future__ import annotations

from cowork.domain.states import LIVE_STATUSES, BookingStatus

LIVE_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(LIVE_STATUSES)) + ")"
HELD_SQL = f"'{BookingStatus.HELD.value}'"


def occupies_sql(alias: str, at: str) -> str:
    """Booking `alias` holds its slot at instant `at` (an SQL expression, e.g. `$2`)."""
    return (
        f"{alias}.status IN {LIVE_SQL} AND ({alias}.status <> {HELD_SQL}"
        f" OR {alias}.expires_at IS NULL OR {alias}.expires_at > {at})"
    )


def current_sql(
    space: str, at: str, columns: str = "b.status, b.ends_at", known: str | None = None
) -> str:
    """LATERAL subquery: the booking occupying space `space` at `at` (at most one); holds are
    judged live at `known` (default `at`: a future instant shown as known now passes `now`)."""
    return (
        f"SELECT {columns} FROM bookings b WHERE b.space_id = {space}.id"
        # Spelled as range containment so that the exclusion constraint's GiST index (space,
        # span, live statuses) answers it in one probe; starts <= at < ends, as before.
        f" AND tstzrange(b.starts_at, b.ends_at, '[)') @> {at}::timestamptz"
        f" AND {occupies_sql('b', known or at)}"
        " ORDER BY b.starts_at LIMIT 1"
    )


def next_sql(space: str, at: str, columns: str = "b.starts_at", known: str | None = None) -> str:
    """LATERAL subquery: the next booking of space `space` starting after `at` that holds its
    slot (a hold lapsed by `known`, default `at`, does not)."""
    return (
        f"SELECT {columns} FROM bookings b WHERE b.space_id = {space}.id"
        f" AND b.starts_at > {at} AND {occupies_sql('b', known or at)}"
        " ORDER BY b.starts_at LIMIT 1"
    )
