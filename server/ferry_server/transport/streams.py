"""The UploadParts streams open on this replica, so that shutdown can end them all at once with
UNAVAILABLE (retryable: clients reconnect, to this replica's successor or another one) instead
of holding them for the grace period that unary RPCs get."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc

from ferry_server.domain.errors import Reason, Unavailable

log = logging.getLogger("ferry.rpc")

SHUTTING_DOWN = "this Ferry replica is shutting down; reconnect and continue the upload"


class OpenStreams:
    """A registry of open streams' contexts; after :meth:`end_all`, new streams are refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, grpc.ServicerContext] = {}
        self._draining = False

    @contextmanager
    def tracking(self, context: grpc.ServicerContext) -> Iterator[None]:
        """Register ``context`` for the duration of its stream (Unavailable once draining)."""
        key = id(context)
        with self._lock:
            if self._draining:
                raise Unavailable(SHUTTING_DOWN, reason=Reason.SHUTTING_DOWN)
            self._open[key] = context
        try:
            yield
        finally:
            with self._lock:
                self._open.pop(key, None)

    def end_all(self) -> int:
        """End every open stream with UNAVAILABLE now, refuse new ones; how many were open."""
        with self._lock:
            self._draining = True
            contexts = list(self._open.values())
        if contexts:
            log.info("shutdown: %d upload streams told to reconnect", len(contexts))
        for context in contexts:
            _end_with_unavailable(context, SHUTTING_DOWN)
        return len(contexts)


def _end_with_unavailable(context: grpc.ServicerContext, message: str) -> None:
    """End a stream with UNAVAILABLE from outside its handler.

    The synchronous API has no public way: ``abort()`` acts only on the handler's own thread,
    which is blocked reading the stream, and ``cancel()`` ends the call as CANCELLED, which
    clients rightly do not retry. So this cancels the call underneath the context with a
    status (what gRPC itself does when a server's grace period ends), and falls back to
    ``cancel()`` should a gRPC release no longer have it.
    """
    call = getattr(getattr(context, "_rpc_event", None), "call", None)
    cancel_with_status: Callable[[int, str], object] | None = getattr(call, "cancel", None)
    if cancel_with_status is None:
        context.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leave it untyped
        return
    cancel_with_status(grpc.StatusCode.UNAVAILABLE.value[0], message)
