"""UploadFile: a small file declared, verified and published in one request."""

from __future__ import annotations

import hashlib
import os

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.support.protocol import KiB, create, missing


def request(data: bytes, store_path: str, **fields: object) -> pb.UploadFileRequest:
    values: dict[str, object] = {
        "file_name": store_path.rsplit("/", 1)[-1],
        "sha256": hashlib.sha256(data).hexdigest(),
        "store_path": store_path,
        "crc32c": google_crc32c.value(data),
        "data": data,
    }
    values.update(fields)
    return pb.UploadFileRequest(**values)  # type: ignore[arg-type]


def failure(stub: rpc.FerryServiceStub, message: pb.UploadFileRequest) -> tuple[object, str]:
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.UploadFile(message)
    return excinfo.value.code(), excinfo.value.details()


@pytest.mark.parametrize("size", [0, 1, 64 * KiB, 1024 * KiB])
def test_a_small_file_is_published_in_one_request(
    server: FerryServer, stub: rpc.FerryServiceStub, size: int
):
    data = os.urandom(size)
    task = stub.UploadFile(request(data, "small/f.bin", metadata={"k": "v"})).task
    assert task.state == pb.TASK_STATE_COMPLETED
    assert (task.size, task.committed_bytes) == (size, size)
    assert task.sha256 == hashlib.sha256(data).hexdigest()
    assert dict(task.metadata) == {"k": "v"}
    assert (server.settings.resolved_storage_root / "small/f.bin").read_bytes() == data
    assert stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task == task
    assert missing(stub, task.task_id) == []
    assert list(server.settings.staging_dir.iterdir()) == []


def test_repeating_the_call_returns_the_same_task(stub: rpc.FerryServiceStub):
    data = os.urandom(1000)
    first = stub.UploadFile(request(data, "again.bin"))
    second = stub.UploadFile(request(data, "again.bin"))
    assert not first.resumed
    assert second.resumed
    assert second.task.task_id == first.task.task_id


def test_a_different_file_in_the_way_already_exists(server: FerryServer, stub):
    stub.UploadFile(request(b"first", "taken.bin"))
    code, details = failure(stub, request(b"second", "taken.bin"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert "overwrite" in details
    replaced = stub.UploadFile(request(b"second", "taken.bin", overwrite=True)).task
    assert replaced.state == pb.TASK_STATE_COMPLETED
    assert (server.settings.resolved_storage_root / "taken.bin").read_bytes() == b"second"


def test_damaged_data_is_aborted_and_nothing_is_written(server: FerryServer, stub):
    data = os.urandom(5000)
    damaged = request(data, "damaged.bin")
    damaged.data = b"\0" + data[1:]
    code, details = failure(stub, damaged)
    assert code == grpc.StatusCode.ABORTED
    assert "send it again" in details
    assert not (server.settings.resolved_storage_root / "damaged.bin").exists()
    assert list(server.settings.staging_dir.iterdir()) == []
    assert stub.UploadFile(request(data, "damaged.bin")).task.state == pb.TASK_STATE_COMPLETED


def test_a_wrong_sha256_is_data_loss_and_nothing_is_published(server: FerryServer, stub):
    code, details = failure(stub, request(b"abc", "lie.bin", sha256="00" * 32))
    assert code == grpc.StatusCode.DATA_LOSS
    assert "nothing was published" in details
    assert not (server.settings.resolved_storage_root / "lie.bin").exists()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"data": b"x" * (1024 * KiB + 1)}, "at most"),
        ({"store_path": "../escape.bin"}, "store_path"),
        ({"store_path": "/abs.bin"}, "store_path"),
        ({"file_name": ""}, "file_name"),
        ({"sha256": "nothex"}, "hexadecimal"),
    ],
)
def test_bad_requests_are_invalid(server: FerryServer, stub, fields, words):
    message = request(b"data", "ok.bin")
    for name, value in fields.items():
        setattr(message, name, value)
    if "data" in fields:
        message.crc32c = google_crc32c.value(message.data)
    code, details = failure(stub, message)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert words in details
    assert list(server.settings.resolved_storage_root.iterdir()) == []


def test_the_crc32c_is_required(stub):
    message = request(b"data", "nocrc.bin")
    message.ClearField("crc32c")
    code, details = failure(stub, message)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "crc32c" in details


def test_an_active_task_for_the_path_already_exists(stub):
    active = create(stub, b"x" * 100, "busy.bin")
    code, details = failure(stub, request(b"y" * 100, "busy.bin", overwrite=True))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert active.task_id in details
