"""One-off steps the commands share: migrate, seed, local secrets and settings, local webhook."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from cowork.config import Settings


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for local use, generated once and kept (0600) under the data dir. A secret
    added by a newer version is generated into an existing file; kept ones never change (a
    new VAPID key would silently end every browser's push subscription)."""
    from cowork.notify.vapid import generate_private_key

    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    makers = {
        "JWT_SECRET": lambda: secrets.token_urlsafe(32),
        "STRIPE_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_urlsafe(24),
        "VAPID_PRIVATE_KEY": generate_private_key,
    }
    missing = {name: make() for name, make in makers.items() if name not in stored}
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        stored.update(missing)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return stored


def local_settings(
    environ: Mapping[str, str], defaults: Mapping[str, str], data_dir: Path
) -> Settings:
    """Settings of a local run kept under `data_dir`: `defaults` < the secrets kept there <
    the environment. Unchecked: the embedded stack fills in the services first."""
    layered = {**defaults, **dev_secrets(data_dir), **environ}
    return replace(Settings.read(layered), data_dir=data_dir)


async def migrate(settings: Settings) -> list[str]:
    from cowork.store.db import migrate as apply_migrations

    return await apply_migrations(settings)


async def seed(settings: Settings) -> object:
    """The demo data, into an empty database only."""
    from cowork.seed import seed_demo
    from cowork.store.db import close_orm, init_orm

    await init_orm(settings)
    try:
        return await seed_demo(settings.demo_password)
    finally:
        await close_orm()


async def prepare_local(settings: Settings, public_url: str | None = None) -> None:
    """Migrate, seed the demo data, point localstripe's webhooks at `public_url` (or the node)."""
    from tortoise import Tortoise

    from cowork.payments.dev import register_local_webhook

    await migrate(settings)
    await Tortoise.close_connections()
    await seed(settings)
    await register_local_webhook(settings, public_url=public_url)
