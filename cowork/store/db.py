"""Connecting the ORM and applying migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.config import Settings, tortoise_config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending aerich migration; returns the versions applied."""
    from aerich import Command

    command = Command(
        tortoise_config=tortoise_config(settings), app="models", location=str(MIGRATIONS_DIR)
    )
    async with command:
        return await command.upgrade(run_in_transaction=True)


async def init_orm(settings: Settings) -> None:
    # Global fallback: Sanic handlers run in tasks that do not inherit the listener's context.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


def db() -> BaseDBAsyncClient:
    """The default connection, for the few queries that are clearer in SQL."""
    return connections.get("default")


async def ping(timeout: float) -> bool:
    """Does the database answer within `timeout` seconds?"""
    try:
        async with asyncio.timeout(timeout):
            await db().execute_query("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False
    return True
