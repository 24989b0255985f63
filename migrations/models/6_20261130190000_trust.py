"""Trust boundary: per-user auth epochs (tokens die with the role), cancel notes that fit."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
-- Bumped by every change that must end existing access and stream tokens: role change,
-- deactivation, password change, logout, refresh-token reuse. Tokens carry the epoch they
-- were issued under; a request whose token names an older epoch is refused.
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "auth_epoch" INT NOT NULL DEFAULT 0;
-- A member's free-text note on a cancellation (personal; never on public events). The reason
-- itself is a code from a small enum (cancel_reason, 32 characters).
ALTER TABLE "bookings" ADD COLUMN IF NOT EXISTS "cancel_note" VARCHAR(200);
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
ALTER TABLE "bookings" DROP COLUMN IF EXISTS "cancel_note";
ALTER TABLE "users" DROP COLUMN IF EXISTS "auth_epoch";
"""
