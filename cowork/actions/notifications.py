"""A member's stored notifications: mark one read, mark all read."""

from __future__ import annotations

from cowork.actions.effects import Effects
from cowork.domain.problems import Problem
from cowork.store.models import Notification


async def mark_read(fx: Effects, user_id: int, notification_id: int) -> Notification:
    row = await Notification.get_or_none(id=notification_id, user_id=user_id)
    if row is None:
        raise Problem.NOTIFICATION_NOT_FOUND.error()
    if row.read_at is None:
        row.read_at = fx.clock.now()
        await row.save(update_fields=["read_at"])
    return row


async def mark_all_read(fx: Effects, user_id: int) -> int:
    return await Notification.filter(user_id=user_id, read_at=None).update(read_at=fx.clock.now())
