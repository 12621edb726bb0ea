"""The retry policy: which failures are worth another attempt, and how long to wait before it.

One :class:`RetryPolicy` (immutable configuration) makes a :class:`RetryBudget` per operation
(mutable, thread-safe bookkeeping); :func:`retrying` and :func:`pause_or_raise` are the one loop
that applies it to a call. Backoff is capped exponential with full jitter
(delay = uniform(0, min(max_backoff, initial_backoff * multiplier**n))). The limits count from
the last *progress*: a committed block resets them, so a long upload over a flaky link is not
cut short by failures it has already recovered from, while an upload that makes no progress
stops after ``max_attempts`` failures or ``max_elapsed`` seconds.

Whether to retry is decided by the server's reason when it gave one of Ferry's (e.g. a
RESOURCE_EXHAUSTED for DISK_FULL or OVERLOADED is retried, for QUOTA_EXCEEDED it is not), else
by the status code. A delay the server advises (RetryInfo) is a floor: the client waits at
least that long, and gives up instead when the advice exceeds ``max_retry_delay`` or the time
left under ``max_elapsed``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from ferry.v1 import errors_pb2

from ferry_client.errors import ChecksumMismatch, FerryError

log = logging.getLogger("ferry.client")

T = TypeVar("T")

#: The codes the Ferry API documents as "try again". (A replica shutting down answers
#: UNAVAILABLE; a killed one, or a cut connection, too.)
RETRYABLE_CODES: frozenset[grpc.StatusCode] = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)


#: Ferry's reasons worth retrying (protos/ferry/v1/errors.proto says "Retry: yes"). A known
#: reason not listed here is permanent whatever its code (e.g. QUOTA_EXCEEDED).
RETRYABLE_REASONS: frozenset[str] = frozenset(
    {
        "BUSY",
        "MERGE_IN_PROGRESS",
        "CHECKSUM_MISMATCH",
        "DISK_FULL",
        "OVERLOADED",
        "DATABASE_UNAVAILABLE",
        "SHUTTING_DOWN",
        "STORE_UNAVAILABLE",
        "STREAM_IDLE",
        "DEADLINE_PASSED",
    }
)
#: Every reason this client knows; a status with another (a newer server's) falls back to its
#: code.
KNOWN_REASONS: frozenset[str] = frozenset(
    value.name
    for value in errors_pb2.ErrorReason.DESCRIPTOR.values
    if value.name != "ERROR_REASON_UNSPECIFIED"
)


#: Jitter for budgets that bring no generator of their own (``random.Random`` is thread-safe).
_SHARED_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the client retries transient failures.

    Attributes:
        initial_backoff: upper bound of the first delay, in seconds.
        max_backoff: cap on any delay's upper bound, in seconds.
        multiplier: growth of the bound per consecutive failure.
        max_attempts: give up after this many consecutive failures without progress
            (``None``: no limit on the count).
        max_elapsed: give up once this many seconds passed since the last progress (or the
            start) and another failure happens (``None``: no limit on time).
        retryable_codes: status codes worth retrying when the server gave no reason this
            client knows. A block rejected for its checksum is always retryable.
        retryable_reasons: Ferry's error reasons worth retrying; they decide over the code.
        max_retry_delay: longest delay the server may advise (RetryInfo) for the client to
            still wait and retry; beyond it the client gives up at once.
    """

    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    max_attempts: int | None = 20
    max_elapsed: float | None = 300.0
    retryable_codes: frozenset[grpc.StatusCode] = RETRYABLE_CODES
    retryable_reasons: frozenset[str] = RETRYABLE_REASONS
    max_retry_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError("need 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None)")
        if self.max_elapsed is not None and self.max_elapsed < 0:
            raise ValueError("max_elapsed must not be negative (or None)")
        if self.max_retry_delay < 0:
            raise ValueError("max_retry_delay must not be negative")

    def is_retryable(self, error: FerryError) -> bool:
        """Whether ``error`` may succeed when tried again."""
        if isinstance(error, ChecksumMismatch):
            return True
        reason = error.ferry_reason
        if reason in KNOWN_REASONS:
            return reason in self.retryable_reasons
        return error.code is not None and error.code in self.retryable_codes

    def backoff_bound(self, failures: int) -> float:
        """Upper bound of the delay after the ``failures``-th consecutive failure (1-based)."""
        exponent = max(0, failures - 1)
        # min() before the power would overflow for very long failure runs.
        if self.multiplier > 1 and exponent > 64:
            return self.max_backoff
        return min(self.max_backoff, self.initial_backoff * self.multiplier**exponent)

    def budget(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_retry: Callable[[FerryError, float], None] | None = None,
    ) -> RetryBudget:
        """Fresh bookkeeping for one operation (one upload, one status call...).

        ``rng`` draws the jitter; by default one generator shared by every budget, since
        seeding a fresh one costs more than a whole small upload's own work. ``on_retry``
        hears of each retry (the error, the delay) before the wait.
        """
        return RetryBudget(self, clock, rng if rng is not None else _SHARED_RNG, on_retry=on_retry)


@dataclass(slots=True)
class RetryBudget:
    """What one operation has used of its :class:`RetryPolicy`. Thread-safe."""

    policy: RetryPolicy
    clock: Callable[[], float]
    rng: random.Random
    on_retry: Callable[[FerryError, float], None] | None = None
    failures: int = 0
    total_failures: int = 0
    _since: float = field(default=-1.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._since = self.clock()

    def progressed(self) -> None:
        """Something was achieved (a block committed): the limits start over."""
        with self._lock:
            self.failures = 0
            self._since = self.clock()

    def next_delay(self, error: FerryError, *, retryable: bool | None = None) -> float | None:
        """Record a failure; the delay before the next attempt, or ``None`` to give up.

        Gives up at once on an error the policy does not retry, unless ``retryable`` (the
        caller knows better, e.g. a precondition that no longer holds) overrides it.
        """
        policy = self.policy
        if not (policy.is_retryable(error) if retryable is None else retryable):
            return None
        with self._lock:
            self.failures += 1
            self.total_failures += 1
            if policy.max_attempts is not None and self.failures >= policy.max_attempts:
                return None
            elapsed = self.clock() - self._since
            if policy.max_elapsed is not None and elapsed >= policy.max_elapsed:
                return None
            left = None if policy.max_elapsed is None else policy.max_elapsed - elapsed
            delay = self.rng.uniform(0.0, policy.backoff_bound(self.failures))
            advised = error.retry_delay
            if advised is not None:
                # Retrying sooner than the server asked only adds to its load: wait at least
                # that long, or not at all.
                if advised > policy.max_retry_delay or (left is not None and advised > left):
                    return None
                return max(delay, advised) if left is None else min(max(delay, advised), left)
            return delay if left is None else min(delay, left)

    def describe(self) -> str:
        """How much was used, for the message of the error that ends the operation."""
        with self._lock:
            return (
                f"gave up after {self.failures} consecutive failed attempts over "
                f"{self.clock() - self._since:.1f}s without progress"
            )


def retrying(budget: RetryBudget, call: Callable[[], T]) -> T:
    """``call()``, again after each failure the budget allows to retry."""
    while True:
        try:
            return call()
        except FerryError as exc:
            pause_or_raise(budget, exc)


def pause_or_raise(budget: RetryBudget, exc: FerryError, *, retryable: bool | None = None) -> None:
    """Sleep before the next attempt if the budget allows one, else raise ``exc`` (said to
    be final when the policy gave up on it). ``retryable`` overrides the policy's verdict."""
    delay = budget.next_delay(exc, retryable=retryable)
    if delay is None:
        if retryable or (retryable is None and budget.policy.is_retryable(exc)):
            raise exc.with_message(f"{exc.message}; {budget.describe()}") from exc
        raise exc
    log.warning("%s; retrying in %.2fs", exc, delay)
    if budget.on_retry is not None:
        budget.on_retry(exc, delay)
    time.sleep(delay)
