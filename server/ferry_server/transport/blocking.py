"""Running the synchronous domain's blocking work (disk, SQL) off the event loop: a bounded
thread pool, each call run in a copy of the caller's contextvars (its :class:`Call`).

Two kinds of work share the threads. *Control* work (unary RPCs, authentication, a stream's
close) is submitted at once. *Data* work (an upload message's write, fsync and commit; a
ReadFile chunk) first waits on the event loop for one of ``data_slots`` slots, fewer than the
threads: so the executor's FIFO queue never holds data hops, and ``reserved`` threads are
always free for control work. Without that, a GetTask queued behind every active stream's
fsync-bound block write (200 streams: seconds). A stream waiting for a slot reads no further
message, so gRPC's flow control holds its client back (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def reserved_for_control(threads: int) -> int:
    """Threads kept free of data work: an eighth, at least one while a data slot remains."""
    return 0 if threads < 2 else max(1, threads // 8)


class BlockingPool:
    """``threads`` threads for blocking work; the event loop only ever awaits them."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ferry-work")
        #: Data hops running at once, at most; the other threads serve control work.
        self.data_slots = threads - reserved_for_control(threads)
        # Made on first use, on the loop that uses it (the server's).
        self._slots: asyncio.Semaphore | None = None

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start ``fn`` on a pool thread in a copy of the current context (control work)."""
        context = contextvars.copy_context()
        return self._executor.submit(context.run, functools.partial(fn, *args, **kwargs))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a pool thread, awaited (control work). Cancelling the
        awaiting task does not stop a call already running: the call's own checkpoints do
        (domain.calls)."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    async def submit_data(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Wait on the loop for a data slot, then start ``fn`` as :meth:`submit` does. The
        slot is given back when ``fn`` returns, not when its awaiter stops waiting, so a
        cancelled stream cannot leave more than ``data_slots`` data hops running."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.data_slots)
        slots = self._slots
        await slots.acquire()
        try:
            future = self.submit(fn, *args, **kwargs)
        except BaseException:
            slots.release()
            raise
        loop = asyncio.get_running_loop()

        def give_back(_: Future[T]) -> None:
            # A closed loop (RuntimeError) has nobody waiting for a slot any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(slots.release)

        future.add_done_callback(give_back)
        return future

    async def run_data(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` as data work (:meth:`submit_data`), awaited."""
        return await asyncio.wrap_future(await self.submit_data(fn, *args, **kwargs))

    def shutdown(self) -> None:
        """Wait for the work already submitted (streams closing, too), then release the threads."""
        self._executor.shutdown(wait=True)
