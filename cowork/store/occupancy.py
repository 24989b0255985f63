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


def guard_sql(alias: str) -> str:
    """The range booking `alias` guards: its slot widened by its buffers. The very expression
    of the exclusion constraint (migration 8), so the planner can use its gist index; the
    Python twin is `domain.buffers.guarded`."""
    return (
        f"booking_guard({alias}.starts_at, {alias}.ends_at,"
        f" {alias}.buffer_before_minutes, {alias}.buffer_after_minutes)"
    )


def turnaround_sql(space: str, at: str, known: str | None = None) -> str:
    """LATERAL subquery: the end of the turnaround space `space` is in at `at` (a booking's
    buffer before or after holds the instant, the booking itself does not); holds are judged
    live at `known` (default `at`)."""
    return (
        f"SELECT upper({guard_sql('b')}) AS ends_at FROM bookings b"
        f" WHERE b.space_id = {space}.id AND {guard_sql('b')} @> {at}::timestamptz"
        f" AND NOT (b.starts_at <= {at} AND b.ends_at > {at})"
        f" AND {occupies_sql('b', known or at)} LIMIT 1"
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
