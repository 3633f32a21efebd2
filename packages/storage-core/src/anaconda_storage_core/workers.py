"""A few asyncio workers through many items: concurrency without a task per item.

What both the async runner (a `Gather` of flows) and the fsspec driver (a `put` of many
files) do: a task per item costs its creation and its scheduling, and waiting on a set of
them (fsspec's `_run_coros_in_chunks`) registers a callback on each pending one at every
completion; `count` workers sharing one iterator cost neither, and read a lazy iterable only
as fast as items finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

__all__ = ["in_workers"]

T = TypeVar("T")


async def in_workers(
    items: Iterable[T], handle: Callable[[T], Awaitable[None]], count: int
) -> None:
    """Await `handle(item)` for each item, at most `count` at once.

    The first exception stops the other workers (cancelled, and awaited) and is raised.
    """
    shared = iter(items)

    async def worker() -> None:
        for item in shared:
            await handle(item)

    if count <= 1:
        await worker()
        return
    workers = [asyncio.ensure_future(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
