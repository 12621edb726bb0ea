"""The current RPC's deadline and cancellation, carried into blocking work by a contextvar.

The transport opens a :class:`Call` for every RPC it serves and runs the domain's blocking work
in a copy of its context; the domain and persistence call :func:`check_call` before each SQL
transaction and in long loops, so that work for a call whose deadline has passed, or whose
caller went away, stops before it records anything more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ferry_server.domain.errors import CallEnded


class Call:
    """One RPC's budget: a monotonic deadline (None: none) and a cancelled flag.

    The flag is set from the event loop's thread and read from a blocking thread; a plain
    attribute suffices (one writer, a bool, checked again at every checkpoint).
    """

    __slots__ = ("cancelled", "deadline", "method")

    def __init__(self, method: str, deadline: float | None) -> None:
        self.method = method
        self.deadline = deadline
        self.cancelled = False

    def remaining(self) -> float | None:
        """Seconds left before the deadline (may be negative), None without a deadline."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def cancel(self) -> None:
        self.cancelled = True

    def check(self) -> None:
        """Raise CallEnded once the caller cancelled or the deadline passed."""
        if self.cancelled:
            raise CallEnded(f"{self.method}: the caller cancelled the call; nothing more was done")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise CallEnded(
                f"{self.method}: the call's deadline passed before the work was done; "
                "nothing more was recorded, retry with a longer deadline"
            )


_current: ContextVar[Call | None] = ContextVar("ferry_call", default=None)


@contextmanager
def calling(call: Call) -> Iterator[Call]:
    """Make ``call`` the current call of this context for the duration of the block."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


def current_call() -> Call | None:
    return _current.get()


def check_call() -> None:
    """Raise CallEnded if the current call (if any) was cancelled or is past its deadline."""
    call = _current.get()
    if call is not None:
        call.check()


def remaining_seconds(default: float) -> float:
    """Seconds left for the current call, at most ``default`` (``default`` without a call or
    deadline)."""
    call = _current.get()
    left = None if call is None else call.remaining()
    return default if left is None else min(default, left)
