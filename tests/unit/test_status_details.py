"""The server's error details, for the reasons no request can provoke today (reserved ones, a
bug) and the rules every status follows: the domain's reasons are exactly the proto's."""

from __future__ import annotations

import grpc
import pytest
from ferry.v1 import errors_pb2
from ferry_server.domain.errors import (
    FerryError,
    Overloaded,
    QuotaExceeded,
    Reason,
    StoreUnavailable,
    TaskNotFound,
    Unavailable,
)
from ferry_server.transport.status import ERROR_DOMAIN, bounded, internal_status, rich_status
from google.rpc import error_details_pb2


def unpack(status, cls):  # type: ignore[no-untyped-def]
    found = []
    for packed in status.details:
        if packed.Is(cls.DESCRIPTOR):
            message = cls()
            packed.Unpack(message)
            found.append(message)
    return found


def test_the_domain_reasons_are_exactly_the_proto_enum() -> None:
    names = {v.name for v in errors_pb2.ErrorReason.DESCRIPTOR.values}
    assert names - {"ERROR_REASON_UNSPECIFIED"} == {r.value for r in Reason}
    assert all(r.name == r.value for r in Reason)


@pytest.mark.parametrize(
    ("error", "code", "reason", "retried_after"),
    [
        (Overloaded("too many streams"), grpc.StatusCode.RESOURCE_EXHAUSTED, "OVERLOADED", 2.0),
        (
            Unavailable("the database is unavailable: connection refused"),
            grpc.StatusCode.UNAVAILABLE,
            "DATABASE_UNAVAILABLE",
            1.0,
        ),
        (
            StoreUnavailable("the object store did not answer (EndpointConnectionError)"),
            grpc.StatusCode.UNAVAILABLE,
            "STORE_UNAVAILABLE",
            5.0,
        ),
        (
            QuotaExceeded("quota used up"),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "QUOTA_EXCEEDED",
            None,
        ),
    ],
)
def test_reasons_no_request_provokes(
    error: FerryError, code: grpc.StatusCode, reason: str, retried_after: float | None
) -> None:
    status = rich_status(error)
    assert status.code == code.value[0]
    (info,) = unpack(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == (reason, ERROR_DOMAIN)
    delays = [
        r.retry_delay.ToTimedelta().total_seconds()
        for r in unpack(status, error_details_pb2.RetryInfo)
    ]
    assert delays == ([] if retried_after is None else [retried_after])


def test_a_bug_is_internal_error_and_says_nothing_else() -> None:
    status = internal_status()
    assert status.code == grpc.StatusCode.INTERNAL.value[0]
    assert [(i.reason, i.domain) for i in unpack(status, error_details_pb2.ErrorInfo)] == [
        ("INTERNAL_ERROR", ERROR_DOMAIN)
    ]
    assert len(status.details) == 1
    assert "log" in status.message


def test_an_unmapped_error_class_is_internal() -> None:
    status = rich_status(FerryError("raised on purpose but never mapped"))
    assert status.code == grpc.StatusCode.INTERNAL.value[0]
    (info,) = unpack(status, error_details_pb2.ErrorInfo)
    assert info.reason == "INTERNAL_ERROR"


def test_not_found_names_no_task() -> None:
    status = rich_status(TaskNotFound("caller's own string"))
    assert unpack(status, error_details_pb2.ResourceInfo) == []
    (info,) = unpack(status, error_details_pb2.ErrorInfo)
    assert dict(info.metadata) == {}


def test_a_task_id_no_header_could_carry_is_not_named() -> None:
    status = rich_status(FerryError("x", task_id="bad\nid", reason=Reason.BUSY))
    assert unpack(status, error_details_pb2.ResourceInfo) == []


def test_a_long_message_keeps_what_is_wrong_and_what_to_do() -> None:
    message = "store_path '/" + "\u00e9" * 5000 + "' is absolute; give a relative path"
    cut = bounded(message)
    assert len(cut.encode()) <= 520
    assert cut.startswith("store_path '/")
    assert cut.endswith("' is absolute; give a relative path")
    assert bounded("short") == "short"
