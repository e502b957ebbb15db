"""The byte budget that bounds pushed bodies in memory (transport/budget.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from possync.transport.budget import ByteBudget


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """In a thread of its own: another test of the same worker (the browser's sync
    API) may leave an event loop running in this one, where asyncio.run refuses."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, scenario).result()


async def _take(
    budget: ByteBudget, size: int, name: str, log: list[str], hold: asyncio.Event
) -> None:
    async with budget.hold(size):
        log.append(f"+{name}")
        assert budget.in_use <= budget.capacity or budget.in_use == size
        await hold.wait()
        log.append(f"-{name}")


def test_pushes_wait_in_arrival_order_within_the_budget() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(32)
        log: list[str] = []
        gates = {n: asyncio.Event() for n in "abcd"}
        tasks = []
        for name, size in (("a", 20), ("b", 20), ("c", 5), ("d", 40)):
            tasks.append(asyncio.create_task(_take(budget, size, name, log, gates[name])))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        # a runs; b does not fit; c would fit but must not overtake b.
        assert log == ["+a"] and budget.in_use == 20
        gates["a"].set()
        await asyncio.sleep(0.01)
        assert log == ["+a", "-a", "+b", "+c"] and budget.in_use == 25
        gates["b"].set()
        gates["c"].set()
        await asyncio.sleep(0.01)
        # d is larger than the whole budget: it runs, alone.
        assert log[-1] == "+d" and budget.in_use == 40
        gates["d"].set()
        await asyncio.gather(*tasks)
        assert budget.in_use == 0
        return log

    run(scenario())


def test_a_cancelled_waiter_gives_its_place_back() -> None:
    async def scenario() -> None:
        budget = ByteBudget(10)
        log: list[str] = []
        first, never, third = asyncio.Event(), asyncio.Event(), asyncio.Event()
        a = asyncio.create_task(_take(budget, 10, "a", log, first))
        await asyncio.sleep(0)
        b = asyncio.create_task(_take(budget, 10, "b", log, never))
        c = asyncio.create_task(_take(budget, 5, "c", log, third))
        await asyncio.sleep(0.01)
        b.cancel()  # a client that went away while waiting
        await asyncio.sleep(0.01)
        first.set()
        third.set()
        await asyncio.gather(a, c)
        assert log == ["+a", "-a", "+c", "-c"] and budget.in_use == 0
        assert b.cancelled()

    run(scenario())
