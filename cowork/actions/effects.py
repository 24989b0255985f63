"""What an action may ask of the running node after its transaction commits.

Actions depend on this protocol, not on the node: `cowork.services.Services` implements it,
and a test can pass anything that does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from cowork.clock import Clock


class Effects(Protocol):
    @property
    def clock(self) -> Clock: ...

    def committed(self, deadline: datetime | None = None) -> None:
        """Outbox rows (or a deadline, or an owed refund) were committed: act on them now."""

    def deliveries_queued(self) -> None:
        """Rows were committed straight into the delivery log (a password reset mail): the
        node's delivery worker, if it has one, looks for due deliveries now."""

    async def users_changed(self, user_id: int) -> None:
        """A user's role, activation or auth epoch changed: every node drops its cached state
        and ends the user's open streams that lost their right."""

    async def rules_changed(
        self, *, space_id: int | None = None, location_id: int | None = None
    ) -> None:
        """A space's or location's booking rules changed: every node's actors reload them."""
