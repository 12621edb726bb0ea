"""The retry policy: which errors are retried, capped exponential backoff with full jitter, and
the limits on attempts and time since the last progress."""

from __future__ import annotations

import random

import grpc
import pytest
from ferry_client import RetryPolicy
from ferry_client.errors import ChecksumMismatch, FerryError, error_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def unavailable() -> FerryError:
    return error_for(grpc.StatusCode.UNAVAILABLE, "down")


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    ],
)
def test_transient_codes_are_retryable(code: grpc.StatusCode) -> None:
    assert RetryPolicy().is_retryable(error_for(code, "x"))


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.CANCELLED,
    ],
)
def test_permanent_codes_are_not_retried(code: grpc.StatusCode) -> None:
    budget = RetryPolicy().budget()
    assert budget.next_delay(error_for(code, "x")) is None
    assert budget.total_failures == 0


def test_a_block_rejected_for_its_checksum_is_retryable() -> None:
    assert RetryPolicy().is_retryable(ChecksumMismatch("crc"))


def test_backoff_bound_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    bounds = [policy.backoff_bound(n) for n in range(1, 8)]
    assert bounds == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert policy.backoff_bound(10_000) == 1.0


def test_delays_are_full_jitter_within_the_bound() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0, max_attempts=None, max_elapsed=None)
    budget = policy.budget(rng=random.Random(7))
    delays = []
    for n in range(1, 200):
        delay = budget.next_delay(unavailable())
        assert delay is not None
        assert 0.0 <= delay <= policy.backoff_bound(n)
        delays.append(delay)
    # Full jitter: spread over the whole interval, not clustered at the bound.
    late = delays[10:]
    assert min(late) < 1.0 and max(late) > 3.0


def test_gives_up_after_max_attempts_consecutive_failures() -> None:
    budget = RetryPolicy(max_attempts=3, max_elapsed=None).budget()
    assert budget.next_delay(unavailable()) is not None
    assert budget.next_delay(unavailable()) is not None
    assert budget.next_delay(unavailable()) is None
    assert "gave up after 3 consecutive failed attempts" in budget.describe()


def test_gives_up_once_max_elapsed_has_passed_and_never_sleeps_past_it() -> None:
    clock = FakeClock()
    policy = RetryPolicy(initial_backoff=10, max_backoff=10, max_attempts=None, max_elapsed=30)
    budget = policy.budget(clock=clock, rng=random.Random(1))
    clock.now = 25.0
    delay = budget.next_delay(unavailable())
    assert delay is not None and delay <= 5.0
    clock.now = 30.0
    assert budget.next_delay(unavailable()) is None


def test_progress_resets_the_limits() -> None:
    clock = FakeClock()
    budget = RetryPolicy(max_attempts=2, max_elapsed=10).budget(clock=clock)
    assert budget.next_delay(unavailable()) is not None
    clock.now = 9.0
    budget.progressed()
    clock.now = 15.0
    assert budget.next_delay(unavailable()) is not None  # 1 failure, 6 s since progress
    assert budget.next_delay(unavailable()) is None  # 2 consecutive failures
    assert budget.total_failures == 3


def test_override_retries_an_error_the_policy_would_not() -> None:
    budget = RetryPolicy().budget()
    precondition = error_for(grpc.StatusCode.FAILED_PRECONDITION, "resumed meanwhile")
    assert budget.next_delay(precondition, retryable=True) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_backoff": -1},
        {"initial_backoff": 2, "max_backoff": 1},
        {"multiplier": 0.5},
        {"max_attempts": 0},
        {"max_elapsed": -1},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
