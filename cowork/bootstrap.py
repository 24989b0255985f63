"""One-off steps the commands share: migrate, seed, local secrets and settings, local webhook."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from cowork.config import Settings


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for local use, generated once and kept (0600) under the data dir."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "JWT_SECRET": secrets.token_urlsafe(32),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


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
