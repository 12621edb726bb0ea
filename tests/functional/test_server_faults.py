"""Faults: streams cut mid-block, the server killed with SIGKILL or stopped with SIGTERM, idle
tasks expiring. Committed blocks always survive; unacknowledged ones are simply missing."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import create_server
from ferry_server.config import Settings

from tests.support.processes import ServerProcess
from tests.support.protocol import KiB, block_messages, create, merge, missing_set, upload


def upload_when_released(stub: rpc.FerryServiceStub, task: pb.Task, data: bytes, indices):
    """Upload, retrying ABORTED: the server may not have noticed the cut stream yet."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return upload(stub, task, data, indices)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ABORTED or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_stream_cut_mid_block_keeps_committed_blocks_and_drops_that_one(
    server, stub: rpc.FerryServiceStub
):
    data = os.urandom(4 * 64 * KiB)
    task = create(stub, data, "cut.bin", block_size=64 * KiB)
    acked = threading.Event()
    release = threading.Event()

    def requests() -> Iterator[pb.UploadPartsRequest]:
        yield from block_messages(task, data, 0)
        yield from block_messages(task, data, 1, chunk=16 * KiB)[:2]
        release.wait(30)

    call = stub.UploadParts(requests())
    first = next(call)
    acked.set()
    assert (first.block_index, first.status) == (0, pb.BLOCK_STATUS_COMMITTED)
    call.cancel()
    release.set()
    assert missing_set(stub, task.task_id) == {1, 2, 3}
    upload_when_released(stub, task, data, [1, 2, 3])
    done = merge(stub, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert (server.settings.resolved_storage_root / "cut.bin").read_bytes() == data


def test_sigkill_mid_upload_loses_only_unacknowledged_blocks(tmp_path: Path, database_url):
    data = os.urandom(10 * 64 * KiB + 99)
    with ServerProcess(tmp_path / "data", database_url=database_url) as process:
        with grpc.insecure_channel(process.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            task = create(stub, data, "killed.bin", block_size=64 * KiB)
            hold = threading.Event()

            def requests() -> Iterator[pb.UploadPartsRequest]:
                for index in (0, 5, 2):
                    yield from block_messages(task, data, index)
                # Half of block 7, then the server dies under the stream.
                yield from block_messages(task, data, 7, chunk=16 * KiB)[:2]
                hold.wait(30)

            call = stub.UploadParts(requests())
            acked = [next(call).block_index for _ in range(3)]
            assert acked == [0, 5, 2]
            process.kill()
            hold.set()
            with pytest.raises(grpc.RpcError):
                list(call)
        process.start()
        with grpc.insecure_channel(process.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            assert missing_set(stub, task.task_id) == set(range(11)) - {0, 2, 5}
            upload(stub, task, data, sorted(missing_set(stub, task.task_id)))
            done = merge(stub, task.task_id)
        assert done.sha256 == hashlib.sha256(data).hexdigest()
        assert (tmp_path / "data" / "files" / "killed.bin").read_bytes() == data


def test_sigterm_stops_the_server_cleanly(tmp_path: Path):
    process = ServerProcess(tmp_path / "data")
    process.start()
    try:
        assert process.terminate() == 0
    finally:
        process.kill()
    log = process.log_path.read_text()
    assert "SIGTERM received" in log
    assert "ferry stopped" in log


def test_idle_tasks_expire_and_free_their_store_path(settings: Settings):
    quick = settings.replace(task_ttl_seconds=0.3, sweep_interval_seconds=0.05)
    server = create_server(quick)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            data = os.urandom(2 * 64 * KiB)
            task = create(stub, data, "idle.bin", block_size=64 * KiB)
            staging = quick.staging_dir / task.task_id
            assert staging.exists()
            deadline = time.monotonic() + 30
            state = pb.TASK_STATE_UPLOADING
            while state != pb.TASK_STATE_EXPIRED and time.monotonic() < deadline:
                time.sleep(0.05)
                state = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state
            assert state == pb.TASK_STATE_EXPIRED
            assert not staging.exists()
            with pytest.raises(grpc.RpcError) as excinfo:
                upload(stub, task, data, [0])
            assert excinfo.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            again = create(stub, data, "idle.bin", block_size=64 * KiB)
            assert again.task_id != task.task_id
    finally:
        server.stop(0)
