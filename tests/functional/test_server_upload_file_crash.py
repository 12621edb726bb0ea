"""UploadFile killed between its steps: the task is recorded (holding the store_path) before its
bytes can appear there, and the client's retry with the same bytes finishes that very task.

A real ``ferry serve`` kills itself (``--test-fault``) just before or just after publishing,
then starts again on the same data directory and database.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from tests.support.processes import ServerProcess

#: Short, so that the killed call's merge lease goes stale within the test.
LEASE = ["--merge-lease", "1"]


def request(data: bytes, store_path: str) -> pb.UploadFileRequest:
    return pb.UploadFileRequest(
        file_name="crash.bin",
        sha256=hashlib.sha256(data).hexdigest(),
        store_path=store_path,
        crc32c=google_crc32c.value(data),
        data=data,
    )


def retried(stub: rpc.FerryServiceStub, message: pb.UploadFileRequest) -> pb.UploadFileResponse:
    """Send until the killed call's lease is stale: ABORTED (MERGE_IN_PROGRESS) until then."""
    for _ in range(100):
        try:
            return stub.UploadFile(message, timeout=30)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ABORTED:  # type: ignore[attr-defined]
                raise
            time.sleep(0.1)
    raise AssertionError("the UploadFile retry was refused for 10 s")


@pytest.mark.parametrize("point", ["upload-file-before-publish", "upload-file-after-publish"])
def test_a_killed_upload_file_is_finished_by_its_retry(
    tmp_path: Path, database_url: str | None, point: str
) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(
        data_dir, database_url=database_url, extra_args=[*LEASE, f"--test-fault={point}:kill"]
    )
    server.start()
    data = os.urandom(100_000)
    target = data_dir / "files" / "small" / "crash.bin"
    try:
        with grpc.insecure_channel(server.address) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                rpc.FerryServiceStub(channel).UploadFile(request(data, "small/crash.bin"))
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert server.proc is not None
        assert server.proc.wait(30) == -signal.SIGKILL
        if point == "upload-file-before-publish":
            assert not target.exists()
        else:
            # Published, its task recorded and holding the path, not yet COMPLETED.
            assert target.read_bytes() == data

        server.extra_args = list(LEASE)
        server.start()
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            # Another file cannot take the path meanwhile; the holder is named.
            with pytest.raises(grpc.RpcError) as refused:
                stub.UploadFile(request(b"another file", "small/crash.bin"))
            assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS  # type: ignore[attr-defined]
            holder = dict(refused.value.trailing_metadata())["ferry-task-id"]  # type: ignore[attr-defined]
            held = stub.GetTask(pb.GetTaskRequest(task_id=holder)).task
            assert (held.state, held.store_path) == (pb.TASK_STATE_UPLOADING, "small/crash.bin")
            # Nor can blocks be sent to it: its bytes come only with an UploadFile.
            with pytest.raises(grpc.RpcError) as declared:
                stub.CreateTask(
                    pb.CreateTaskRequest(
                        file_name="crash.bin",
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        store_path="small/crash.bin",
                    )
                )
            assert declared.value.code() == grpc.StatusCode.ALREADY_EXISTS  # type: ignore[attr-defined]

            reply = retried(stub, request(data, "small/crash.bin"))
            assert reply.task.task_id == holder
            assert not reply.resumed
            done = stub.GetTask(pb.GetTaskRequest(task_id=holder)).task
            assert done.state == pb.TASK_STATE_COMPLETED
            assert (done.sha256, done.committed_bytes) == (
                hashlib.sha256(data).hexdigest(),
                len(data),
            )
            assert target.read_bytes() == data
            # Sent once more: the lost-reply case, answered from the record.
            again = stub.UploadFile(request(data, "small/crash.bin"))
            assert (again.task.task_id, again.resumed) == (holder, True)
        assert not any((data_dir / "staging").iterdir())
    finally:
        server.kill()
    assert "Traceback" not in server.log_path.read_text()
