"""The client's error table: every status code becomes one exception class that keeps the code
and the server's message."""

from __future__ import annotations

import grpc
import pytest
from ferry_client import (
    AlreadyExists,
    FerryError,
    IntegrityError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ServerError,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.errors import ERROR_BY_CODE, error_for


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidRequest),
        (grpc.StatusCode.OUT_OF_RANGE, InvalidRequest),
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists),
        (grpc.StatusCode.PERMISSION_DENIED, PermissionDenied),
        (grpc.StatusCode.UNAUTHENTICATED, PermissionDenied),
        (grpc.StatusCode.FAILED_PRECONDITION, PreconditionFailed),
        (grpc.StatusCode.DATA_LOSS, IntegrityError),
        (grpc.StatusCode.UNAVAILABLE, TransientError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, TransientError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, TransientError),
        (grpc.StatusCode.ABORTED, TransientError),
        (grpc.StatusCode.INTERNAL, ServerError),
        (grpc.StatusCode.UNKNOWN, ServerError),
        (grpc.StatusCode.UNIMPLEMENTED, ServerError),
        (grpc.StatusCode.CANCELLED, ServerError),
    ],
)
def test_each_code_maps_to_its_class_keeping_code_and_message(
    code: grpc.StatusCode, cls: type[FerryError]
) -> None:
    error = error_for(code, "the server's own words", task_id="t1")
    assert type(error) is cls
    assert (error.code, error.message, error.task_id) == (code, "the server's own words", "t1")
    assert str(error) == f"the server's own words ({code.name})"


def test_the_table_only_maps_to_ferry_errors() -> None:
    assert all(issubclass(cls, FerryError) for cls in ERROR_BY_CODE.values())


def test_paused_and_ended_are_distinct_preconditions() -> None:
    ended = TaskEnded("gone", state="CANCELED", task_id="t")
    assert isinstance(ended, PreconditionFailed) and ended.state == "CANCELED"
    assert issubclass(TaskPaused, PreconditionFailed)
    assert not issubclass(TaskPaused, TaskEnded)


def test_an_empty_message_still_says_something() -> None:
    assert "INTERNAL" in error_for(grpc.StatusCode.INTERNAL, "").message
