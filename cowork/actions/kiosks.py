"""Kiosks: staff register and revoke the shared screens of a location (audited)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from cowork.actions.effects import Effects
from cowork.store import audit
from cowork.store import kiosks as store
from cowork.store.db import db
from cowork.store.models import KioskDevice


async def register_kiosk(
    fx: Effects, actor_id: int, location_id: int, name: str
) -> tuple[KioskDevice, str]:
    """A new kiosk and its token (shown once; only its hash is kept)."""
    token = store.new_token()
    async with in_transaction() as conn:
        kiosk = await KioskDevice.create(
            location_id=location_id,
            name=name,
            token_hash=store.hash_token(token),
            created_by_id=actor_id,
        )
        after = {"name": name}
        await audit.record(
            conn, actor_id, "kiosk.created", "kiosk", kiosk.id, location_id, None, after
        )
    return kiosk, token


async def revoke_kiosk(fx: Effects, actor_id: int, kiosk: KioskDevice) -> None:
    """The token stops working at once (and the kiosk's websocket within a heartbeat)."""
    if kiosk.revoked_at is not None:
        return
    location_id: int = kiosk.location_id  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        revoked = await KioskDevice.filter(id=kiosk.id, revoked_at=None).update(
            revoked_at=fx.clock.now()
        )
        if revoked:
            await audit.record(
                conn, actor_id, "kiosk.revoked", "kiosk", kiosk.id, location_id, None, None
            )


async def kiosk_seen(fx: Effects, kiosk_id: int) -> None:
    await db().execute_query(
        "UPDATE kiosk_devices SET last_seen_at = $2 WHERE id = $1", [kiosk_id, fx.clock.now()]
    )
