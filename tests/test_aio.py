"""``within``: a timeout that never loses a cancellation of its caller."""

from __future__ import annotations

import asyncio

import pytest

from horizon_flow_core.aio import recv_within, within


def test_a_cancel_arriving_as_the_call_completes_is_kept() -> None:
    # The race that made asyncio.wait_for (3.11) return the result and drop the
    # cancel: the awaited future completes in the same loop pass as the cancel.
    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        futures = [fut, loop.create_future()]  # then one that never completes

        async def reader() -> None:
            while True:  # a venue reader's loop
                await within(10.0, futures.pop(0))

        task = asyncio.create_task(reader())
        await asyncio.sleep(0)  # the reader is waiting
        fut.set_result(1)
        task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(task), 2.0)
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            task.cancel()
            return "lost the cancel"
        return "returned"

    assert asyncio.run(scenario()) == "cancelled"


def test_timeout_and_result() -> None:
    class Silent:
        async def recv(self) -> str:
            await asyncio.sleep(5)
            return "late"

    class Talking:
        async def recv(self) -> str:
            return "frame"

    async def scenario() -> str:
        with pytest.raises(TimeoutError):
            await recv_within(Silent(), 0.01)
        with pytest.raises(TimeoutError):
            await recv_within(Silent(), -1.0)  # a deadline already past: at once
        return await recv_within(Talking(), 1.0)

    assert asyncio.run(scenario()) == "frame"
