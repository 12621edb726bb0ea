"""Running the synchronous domain's blocking work (disk, SQL) off the event loop: a bounded
thread pool, each call run in a copy of the caller's contextvars (its :class:`Call`)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BlockingPool:
    """``threads`` threads for blocking work; the event loop only ever awaits them."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ferry-work")

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start ``fn`` on a pool thread in a copy of the current context."""
        context = contextvars.copy_context()
        return self._executor.submit(context.run, functools.partial(fn, *args, **kwargs))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a pool thread, awaited. Cancelling the awaiting task
        does not stop a call already running: the call's own checkpoints do (domain.calls)."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def shutdown(self) -> None:
        """Wait for the work already submitted (streams closing, too), then release the threads."""
        self._executor.shutdown(wait=True)
