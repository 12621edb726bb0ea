"""The UploadParts streams open on this replica: how many may be open at once (beyond the
limit a new one is refused OVERLOADED), when an open one counts as idle and is ended
(STREAM_IDLE), and ending them all at once with UNAVAILABLE when the replica shuts down,
instead of holding them for the grace period unary RPCs get.

All of it runs on the event loop's thread: no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc

from ferry_server.domain.errors import Overloaded, Reason, StreamIdle, Unavailable

log = logging.getLogger("ferry.rpc")

#: What ``context.read()`` returns at the end of the stream (grpc-stubs do not name it).
_EOF: object = grpc.aio.EOF  # type: ignore[attr-defined]

SHUTTING_DOWN = "this Ferry replica is shutting down; reconnect and continue the upload"


class OpenStreams:
    """Open upload streams: at most ``limit`` at once, each ended after ``idle_timeout``
    seconds without a message while it waits for one; after :meth:`end_all`, every open
    stream ends and new ones are refused."""

    def __init__(self, limit: int, idle_timeout: float) -> None:
        self._limit = limit
        self._idle_timeout = idle_timeout
        self._open = 0
        self._draining = False
        self._shutdown: asyncio.Future[None] | None = None

    @property
    def count(self) -> int:
        return self._open

    def _shutdown_future(self) -> asyncio.Future[None]:
        if self._shutdown is None:
            self._shutdown = asyncio.get_running_loop().create_future()
            if self._draining:
                self._shutdown.set_result(None)
        return self._shutdown

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[Stream]:
        """One stream for the duration of the block (Unavailable once draining, Overloaded
        at the limit)."""
        if self._draining:
            raise Unavailable(SHUTTING_DOWN, reason=Reason.SHUTTING_DOWN)
        if self._open >= self._limit:
            raise Overloaded(
                f"this Ferry replica is at its limit of {self._limit} open upload streams; "
                "retry after the advised delay, on another replica, or with fewer parallel "
                "streams (operators: --max-streams)",
                facts={"streamLimit": self._limit},
            )
        self._open += 1
        try:
            yield Stream(self._shutdown_future(), self._idle_timeout)
        finally:
            self._open -= 1

    def end_all(self) -> int:
        """End every open stream with UNAVAILABLE now, refuse new ones; how many were open."""
        self._draining = True
        if self._shutdown is not None and not self._shutdown.done():
            self._shutdown.set_result(None)
        if self._open:
            log.info("shutdown: %d upload streams told to reconnect", self._open)
        return self._open


class Stream:
    """Reads one stream's messages, racing each read against shutdown and the idle timeout."""

    def __init__(self, shutdown: asyncio.Future[None], idle_timeout: float) -> None:
        self._shutdown = shutdown
        self._idle_timeout = idle_timeout

    async def next_message(self, context: grpc.aio.ServicerContext[Any, Any]) -> bytes | None:
        """The next message, None at the end of the stream. Raises Unavailable (SHUTTING_DOWN)
        once shutdown starts, StreamIdle when none arrives within the idle timeout."""
        if self._shutdown.done():
            raise Unavailable(SHUTTING_DOWN, reason=Reason.SHUTTING_DOWN)
        read: asyncio.Future[Any] = asyncio.ensure_future(context.read())
        done, _ = await asyncio.wait(
            (read, self._shutdown), timeout=self._idle_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if read in done:
            message = read.result()
            return None if message is _EOF else message
        # The call ends now (the caller aborts it); the read then finishes by itself, and
        # cancelling a read in flight is not something gRPC's aio API promises to survive.
        read.add_done_callback(_retrieve)
        if self._shutdown.done():
            raise Unavailable(SHUTTING_DOWN, reason=Reason.SHUTTING_DOWN)
        raise StreamIdle(
            f"the upload stream sent nothing for {self._idle_timeout:g} s while the server owed "
            "it no acknowledgement; it was ended and its unfinished block dropped: open a new "
            "stream when there is data to send",
            facts={"idleTimeoutSeconds": f"{self._idle_timeout:g}"},
        )


def _retrieve(read: asyncio.Future[Any]) -> None:
    # Nobody awaits a read abandoned at shutdown or idle; its end (an error, as the call is
    # gone) is expected and must not be reported as "never retrieved".
    if not read.cancelled():
        read.exception()
