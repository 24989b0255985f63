"""Waiting without sleeping blindly: poll a condition until it holds or a deadline passes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll(
    fetch: Callable[[], Awaitable[T] | T], predicate: Callable[[T], bool], timeout: float = 20.0
) -> T:
    """Call `fetch` (a coroutine function, or a plain one reading local state) until
    `predicate(result)` holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = fetch()
        result: T = await got if inspect.isawaitable(got) else got
        if predicate(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last: {result!r}")
        await asyncio.sleep(0.05)
