"""Stall detection: a watchdog thread that cuts an upload stream whose progress stopped.

A stream makes progress when gRPC takes another message from it (the link carries data) or an
acknowledgement arrives. A stream waiting for either for longer than the stall timeout while it
has a block in flight is stalled: a link that silently stopped forwarding, a server that stopped
answering without closing. gRPC keepalive or the call's deadline would notice only much later,
so the watchdog cancels it; the upload then sends its blocks again on a new stream
(:class:`StreamStalled` is a transient error, retried under the policy and reported as a
``stalled`` event).

gRPC takes messages well ahead of the link (its buffers and the HTTP/2 window hold megabytes),
so on a slow link the last messages of a block are taken long before its acknowledgement can
come: a block that takes longer than the timeout to cross the link looks stalled. So each cut
doubles the upload's timeout: a link slower than one block per timeout is cut a few times, then
completes; a link that really stopped is cut within the timeout the first time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc

from ferry_client.errors import TransientError

#: Seconds without progress after which a stream is cut, by default. Above the server's own
#: longest legitimate pause before an acknowledgement (up to 30 s of flow control while its
#: assembler catches up), far below TCP's and keepalive's minutes.
DEFAULT_STALL_TIMEOUT = 60.0


class StreamStalled(TransientError):
    """A stream made no progress for the stall timeout and was cut; its blocks go again."""


class StallHandle:
    """One stream's progress as the watchdog sees it. Thread-safe."""

    def __init__(self, cancel: Callable[[], None], clock: Callable[[], float]) -> None:
        self._cancel = cancel
        self._clock = clock
        self._lock = threading.Lock()
        self._last = clock()
        self._busy = False
        self.stalled_for: float | None = None

    def progressed(self) -> None:
        with self._lock:
            self._last = self._clock()

    def busy(self, busy: bool) -> None:
        """Whether the stream has a block in flight (an idle stream cannot stall)."""
        with self._lock:
            if busy and not self._busy:
                self._last = self._clock()
            self._busy = busy

    def error(self, task_id: str) -> StreamStalled | None:
        """The error to report if the watchdog cut this stream, else ``None``."""
        if self.stalled_for is None:
            return None
        return StreamStalled(
            f"a stream made no progress for {self.stalled_for:.0f}s (the link or the server "
            "stopped without closing the connection); its blocks go again on a new stream",
            code=grpc.StatusCode.DEADLINE_EXCEEDED,
            task_id=task_id,
        )

    def _check(self, now: float, timeout: float) -> bool:
        with self._lock:
            if not self._busy or self.stalled_for is not None or now - self._last < timeout:
                return False
            self.stalled_for = now - self._last
            return True


class StallWatch:
    """The watchdog of one upload's streams; ``timeout`` ``None`` watches nothing."""

    def __init__(
        self, timeout: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._timeout = timeout
        self._clock = clock
        self._handles: set[StallHandle] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, cancel: Callable[[], None]) -> StallHandle:
        """A handle for a new stream; ``cancel`` cuts it."""
        handle = StallHandle(cancel, self._clock)
        if self._timeout is None:
            return handle
        with self._lock:
            self._handles.add(handle)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="ferry-stall-watch", daemon=True
                )
                self._thread.start()
        return handle

    def forget(self, handle: StallHandle) -> None:
        with self._lock:
            self._handles.discard(handle)

    def close(self) -> None:
        """Stop the watchdog thread; a later :meth:`watch` starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            stop, self._stop = self._stop, threading.Event()
        stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def timeout(self) -> float | None:
        """The timeout now (doubled by each cut)."""
        return self._timeout

    def _run(self, stop: threading.Event) -> None:
        assert self._timeout is not None
        while not stop.wait(min(1.0, self._timeout / 4)):
            now = self._clock()
            with self._lock:
                stalled = [h for h in self._handles if h._check(now, self._timeout)]
                if stalled:
                    # It may be a slow link rather than a dead one: give the next one longer.
                    self._timeout *= 2
            for handle in stalled:
                handle._cancel()
