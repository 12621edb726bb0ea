"""Hostile text in requests: task ids that are no task id, names that would forge or reorder a
log line, a store_path through a loop of symbolic links. Each gets a status a client can act on
(never INTERNAL, never the retryable RESOURCE_EXHAUSTED), no trailer carries what a client sent,
and the log shows client values escaped."""

from __future__ import annotations

import logging

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.conftest import Bystander

MALFORMED_IDS = [
    "caf\u00e9\x01",
    "\x00" * 32,
    "ab\x00cd",
    "a" * 9000,
    "\u00e9" * 5000,
    "ABCDEF0123456789ABCDEF0123456789",
    "\r\nferry-task-id: forged",
]


def _calls(stub: rpc.FerryServiceStub, task_id: str) -> list[tuple[str, object]]:
    return [
        ("GetTask", lambda: stub.GetTask(pb.GetTaskRequest(task_id=task_id))),
        (
            "QueryMissingBlocks",
            lambda: stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=task_id)),
        ),
        (
            "SetState",
            lambda: stub.SetState(pb.SetStateRequest(task_id=task_id, state=pb.TASK_STATE_PAUSED)),
        ),
        ("Merge", lambda: stub.Merge(pb.MergeRequest(task_id=task_id))),
        (
            "UploadParts",
            lambda: list(
                stub.UploadParts(
                    iter([pb.UploadPartsRequest(task_id=task_id, data=b"x", crc32c=0)])
                )
            ),
        ),
    ]


@pytest.mark.parametrize("task_id", MALFORMED_IDS, ids=range(len(MALFORMED_IDS)))
def test_a_malformed_task_id_is_not_found_and_never_echoed_into_metadata(
    stub: rpc.FerryServiceStub, bystander: Bystander, task_id: str
) -> None:
    for name, call in _calls(stub, task_id):
        with pytest.raises(grpc.RpcError) as caught:
            call()  # type: ignore[operator]
        error = caught.value
        assert error.code() == grpc.StatusCode.NOT_FOUND, (name, error.details())  # type: ignore[attr-defined]
        assert error.details().startswith("no task with id ")  # type: ignore[attr-defined]
        assert len(error.details()) < 2000  # type: ignore[attr-defined]
        keys = [key for key, _ in error.trailing_metadata() or ()]  # type: ignore[attr-defined]
        assert "ferry-task-id" not in keys


def test_bytes_that_are_no_request_are_invalid_argument_without_a_traceback(
    channel: grpc.Channel, bystander: Bystander, caplog: pytest.LogCaptureFixture
) -> None:
    get_task = channel.unary_unary(
        "/ferry.v1.FerryService/GetTask", request_serializer=None, response_deserializer=None
    )
    with pytest.raises(grpc.RpcError) as caught:
        get_task(b"\xff\xff")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "ferry.v1.GetTaskRequest" in caught.value.details()  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno > logging.INFO or r.exc_info]


@pytest.mark.parametrize("store_path", ["loop", "loop/inside.bin"])
def test_a_store_path_through_a_symlink_loop_is_invalid(
    server: FerryServer, stub: rpc.FerryServiceStub, bystander: Bystander, store_path: str
) -> None:
    root = server.settings.resolved_storage_root
    (root / "loop").symlink_to("loop")
    data = b"small"
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadFile(
            pb.UploadFileRequest(
                file_name="f", store_path=store_path, data=data, crc32c=google_crc32c.value(data)
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "loop of symbolic links" in caught.value.details()  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateTask(pb.CreateTaskRequest(file_name="f", store_path=store_path, size=1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


FORGERIES = [
    "x\n2026-11-22 04:00:00,000 ERROR ferry.rpc: forged line",
    "x\r2026-11-22 04:00:00,000 ERROR ferry.rpc: forged line",
    "x\u2028forged",
    "x\u0085forged",
    "invoice\u202efdp.exe",
    "zero\u200bwidth",
]


@pytest.mark.parametrize("name", FORGERIES, ids=range(len(FORGERIES)))
def test_a_hostile_name_is_refused_and_cannot_forge_a_log_line(
    stub: rpc.FerryServiceStub,
    bystander: Bystander,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    data = b"hello"
    for request in [
        pb.UploadFileRequest(
            file_name=name, store_path="ok.bin", data=data, crc32c=google_crc32c.value(data)
        ),
        pb.UploadFileRequest(
            file_name="ok", store_path=name, data=data, crc32c=google_crc32c.value(data)
        ),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            stub.UploadFile(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        assert "U+" in caught.value.details()  # type: ignore[attr-defined]
    for record in caplog.records:
        assert record.getMessage().isprintable(), record.getMessage()


def test_names_the_server_accepts_are_logged_escaped(
    stub: rpc.FerryServiceStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # ZWJ is allowed in names (Devanagari and emoji sequences use it) but shows in no log.
    name = "\u0915\u094d\u200d\u0937 \U0001f469\u200d\U0001f4bb.txt"
    data = b"hello"
    stub.UploadFile(
        pb.UploadFileRequest(
            file_name=name, store_path=name, data=data, crc32c=google_crc32c.value(data)
        )
    )
    messages = [r.getMessage() for r in caplog.records if "COMPLETED" in r.getMessage()]
    assert messages and all(m.isprintable() and "\\u200d" in m for m in messages)
