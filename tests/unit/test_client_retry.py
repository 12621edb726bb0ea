"""The retry policy: which errors are retried, capped exponential backoff with full jitter, and
the limits on attempts and time since the last progress; decisions by the server's reason and
RetryInfo, read from real google.rpc.Status messages."""

from __future__ import annotations

import random

import grpc
import pytest
from ferry_client import RetryPolicy
from ferry_client.errors import ChecksumMismatch, FerryError, error_for, parse_details
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2


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


# -- decisions by the server's reason and RetryInfo ------------------------------------------


def from_status(
    code: grpc.StatusCode,
    reason: str | None,
    *,
    retry_delay: float | None = None,
    domain: str = "ferry.v1",
) -> FerryError:
    """The client's exception for a real ``google.rpc.Status`` as a server would send it."""
    status = status_pb2.Status(code=code.value[0], message="the server's words")
    if reason is not None:
        status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain))
    if retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(round(retry_delay * 1000))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return error_for(code, status.message, details=parse_details(status))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "OVERLOADED"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "DISK_FULL"),
        (grpc.StatusCode.ABORTED, "BUSY"),
        (grpc.StatusCode.ABORTED, "MERGE_IN_PROGRESS"),
        (grpc.StatusCode.ABORTED, "CHECKSUM_MISMATCH"),
        (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
        (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN"),
        (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE"),
    ],
)
def test_retryable_reasons_are_retried(code: grpc.StatusCode, reason: str) -> None:
    assert RetryPolicy().budget().next_delay(from_status(code, reason)) is not None


def test_a_quota_is_not_retried_though_its_code_is_resource_exhausted() -> None:
    budget = RetryPolicy().budget()
    quota = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", retry_delay=1.0)
    assert not RetryPolicy().is_retryable(quota)
    assert budget.next_delay(quota) is None
    assert budget.total_failures == 0


@pytest.mark.parametrize(
    "reason", ["TASK_PAUSED", "BLOCKS_MISSING", "STORE_PATH_TAKEN", "INVALID_STORE_PATH"]
)
def test_permanent_reasons_are_not_retried(reason: str) -> None:
    assert RetryPolicy().budget().next_delay(from_status(grpc.StatusCode.ABORTED, reason)) is None


def test_the_advised_delay_is_a_floor_for_the_jittered_backoff() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=0.2, max_attempts=None)
    budget = policy.budget(rng=random.Random(3))
    overloaded = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "OVERLOADED", retry_delay=2.5)
    assert overloaded.retry_delay == pytest.approx(2.5)
    delays = [budget.next_delay(overloaded) for _ in range(50)]
    assert all(d is not None and d >= 2.5 for d in delays)


def test_jitter_above_the_advice_is_kept() -> None:
    policy = RetryPolicy(initial_backoff=10, max_backoff=10, max_attempts=None, max_elapsed=None)
    budget = policy.budget(rng=random.Random(5))
    busy = from_status(grpc.StatusCode.ABORTED, "BUSY", retry_delay=0.001)
    delays = [budget.next_delay(busy) for _ in range(50)]
    assert max(d for d in delays if d is not None) > 1.0


def test_advice_beyond_the_policy_gives_up_instead_of_retrying_early() -> None:
    disk_full = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "DISK_FULL", retry_delay=30)
    assert RetryPolicy(max_retry_delay=10).budget().next_delay(disk_full) is None
    clock = FakeClock()
    budget = RetryPolicy(max_elapsed=40).budget(clock=clock)
    clock.now = 20.0  # 20 s left, 30 advised
    assert budget.next_delay(disk_full) is None
    assert RetryPolicy().budget().next_delay(disk_full) == pytest.approx(30, abs=0.2)


def test_without_details_the_code_decides() -> None:
    bare = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, None)
    assert bare.reason is None and bare.retry_delay is None
    assert RetryPolicy().budget().next_delay(bare) is not None
    lost = from_status(grpc.StatusCode.DATA_LOSS, None)
    assert RetryPolicy().budget().next_delay(lost) is None


@pytest.mark.parametrize(
    ("reason", "domain"),
    [("SOMETHING_NEWER", "ferry.v1"), ("QUOTA_EXCEEDED", "some.other.service")],
)
def test_an_unknown_reason_or_foreign_domain_falls_back_to_the_code(
    reason: str, domain: str
) -> None:
    error = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, reason, domain=domain)
    assert error.reason == reason and error.ferry_reason in (None, reason)
    assert RetryPolicy().is_retryable(error)


def test_giving_up_keeps_the_reason_and_details() -> None:
    busy = from_status(grpc.StatusCode.ABORTED, "BUSY", retry_delay=0.5)
    again = busy.with_message("still busy; gave up")
    assert type(again) is type(busy)
    assert (again.message, str(again)) == (
        "still busy; gave up",
        "still busy; gave up (ABORTED: BUSY)",
    )
    assert (again.reason, again.retry_delay, again.code) == ("BUSY", 0.5, grpc.StatusCode.ABORTED)
    assert busy.message == "the server's words"
