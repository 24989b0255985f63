"""Credentials: argon2id hashing, registration, login checks and password changes."""

from __future__ import annotations

import asyncio
import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError

from cowork.accounts.tokens import Role
from cowork.domain.errors import ConflictError, ForbiddenError, InvalidInputError, UnauthorizedError
from cowork.domain.problems import Problem
from cowork.store.models import User

EMAIL_MAX = 254
PASSWORD_MIN = 8
PASSWORD_MAX = 256  # argon2 takes any length; the cap keeps one request's hashing bounded
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


class InvalidCredentialsError(UnauthorizedError):
    problem = Problem.INVALID_CREDENTIALS


class AccountInactiveError(ForbiddenError):
    problem = Problem.ACCOUNT_INACTIVE


class EmailTakenError(ConflictError):
    problem = Problem.EMAIL_TAKEN


class CurrentPasswordRequiredError(InvalidInputError):
    problem = Problem.CURRENT_PASSWORD_REQUIRED


class CurrentPasswordWrongError(ForbiddenError):
    problem = Problem.CURRENT_PASSWORD_WRONG


def normalise_email(raw: str) -> str:
    """Emails compare case-insensitively: stored and looked up trimmed and lower-case."""
    return raw.strip().lower()


def valid_email(email: str) -> bool:
    return len(email) <= EMAIL_MAX and _EMAIL.match(email) is not None


@cache
def _hasher() -> PasswordHasher:
    # argon2id with the library's RFC 9106 low-memory profile.
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("cowork-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


def _verify_sync(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify_sync, password_hash, password)


async def register(email: str, password: str, name: str) -> User:
    """A new member; the email must be unused (compared lower-case)."""
    email = normalise_email(email)
    if await User.exists(email=email):
        raise EmailTakenError()
    password_hash = await hash_password(password)
    try:
        return await User.create(
            email=email, password_hash=password_hash, name=name, role=Role.MEMBER.value
        )
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTakenError() from exc


async def authenticate(email: str, password: str) -> User:
    """The active user with these credentials; unknown emails cost one hash like known ones."""
    user = await User.get_or_none(email=normalise_email(email))
    if user is None:
        await verify_password(await asyncio.to_thread(_dummy_hash), password)
        raise InvalidCredentialsError()
    if not await verify_password(user.password_hash, password):
        raise InvalidCredentialsError()
    if not user.is_active:
        raise AccountInactiveError()
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        await user.save(update_fields=["password_hash", "updated_at"])
    return user


async def change_password(user: User, current_password: str | None, new_password: str) -> None:
    """Set a new password after checking the current one (the caller saves the user)."""
    if current_password is None:
        raise CurrentPasswordRequiredError()
    if not await verify_password(user.password_hash, current_password):
        raise CurrentPasswordWrongError()
    user.password_hash = await hash_password(new_password)
