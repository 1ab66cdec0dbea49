"""Asyncio helpers shared by the live sources.

``asyncio.wait_for`` in Python 3.11 can swallow a cancellation: when the
awaited call finishes at the moment the task is cancelled, it returns the
result and the cancel is lost (CPython gh-86296, fixed in 3.12 by rebuilding
``wait_for`` on ``asyncio.timeout``). A venue reader looping on
``wait_for(ws.recv(), ...)`` then never stops: a daemon's shutdown, or a test
cleaning up a source, waits forever, and the busier the machine the likelier
it is. ``asyncio.timeout`` counts cancellations and never loses one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, raising :class:`TimeoutError` after ``seconds`` (0: at once
    unless already done), without ever swallowing a cancellation of the caller."""
    async with asyncio.timeout(max(0.0, seconds)):
        return await awaitable


async def recv_within(ws: Any, seconds: float) -> Any:
    """The next message of WebSocket ``ws``, or :class:`TimeoutError` after ``seconds``."""
    return await within(seconds, ws.recv())
