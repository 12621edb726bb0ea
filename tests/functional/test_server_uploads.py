"""Happy paths through the real server: files of every shape, parallel streams, resume, merge."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server

from tests.support.protocol import KiB, block_messages, create, merge, missing, upload


def published(server: FerryServer, store_path: str) -> Path:
    return server.settings.resolved_storage_root / store_path


def test_empty_file_has_no_blocks_and_merges(server: FerryServer, stub: rpc.FerryServiceStub):
    task = create(stub, b"", "empty.bin")
    assert (task.block_count, task.state) == (0, pb.TASK_STATE_UPLOADING)
    assert missing(stub, task.task_id) == []
    done = merge(stub, task.task_id)
    assert done.state == pb.TASK_STATE_COMPLETED
    assert done.sha256 == hashlib.sha256(b"").hexdigest()
    assert published(server, "empty.bin").read_bytes() == b""


def test_file_smaller_than_a_block(server: FerryServer, stub: rpc.FerryServiceStub):
    data = os.urandom(1000)
    task = create(stub, data, "small/one.bin")
    assert task.block_count == 1
    acks = upload(stub, task, data)
    assert [(a.block_index, a.status) for a in acks] == [(0, pb.BLOCK_STATUS_COMMITTED)]
    done = merge(stub, task.task_id)
    assert published(server, "small/one.bin").read_bytes() == data
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert done.committed_bytes == len(data)


def test_multi_block_file_with_a_short_last_block(server: FerryServer, stub: rpc.FerryServiceStub):
    data = os.urandom(5 * 64 * KiB + 1234)
    task = create(stub, data, "deep/dir/tree/multi.bin", block_size=64 * KiB)
    assert (task.block_size, task.block_count) == (64 * KiB, 6)
    acks = upload(stub, task, data)
    assert sorted(a.block_index for a in acks) == list(range(6))
    assert all(a.status == pb.BLOCK_STATUS_COMMITTED for a in acks)
    assert missing(stub, task.task_id) == []
    merge(stub, task.task_id)
    result = published(server, "deep/dir/tree/multi.bin").read_bytes()
    assert hashlib.sha256(result).digest() == hashlib.sha256(data).digest()
    # Staging is moved, not copied: nothing is left behind.
    assert list(server.settings.staging_dir.iterdir()) == []


def test_two_parallel_streams_with_blocks_out_of_order(
    server: FerryServer, stub: rpc.FerryServiceStub
):
    data = os.urandom(16 * 64 * KiB + 77)
    task = create(stub, data, "parallel.bin", block_size=64 * KiB)
    order = list(reversed(range(task.block_count)))
    lanes = [order[0::2], order[1::2]]
    results: dict[int, list[pb.UploadPartsResponse]] = {}
    errors: list[BaseException] = []

    def lane(n: int) -> None:
        try:
            results[n] = upload(stub, task, data, lanes[n])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lane, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(a.block_index for acks in results.values() for a in acks) == list(range(17))
    done = merge(stub, task.task_id)
    assert published(server, "parallel.bin").read_bytes() == data
    assert done.sha256 == hashlib.sha256(data).hexdigest()


def test_declaring_the_same_file_again_resumes_the_task(stub: rpc.FerryServiceStub):
    data = os.urandom(3 * 64 * KiB)
    first = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="r.bin",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest().upper(),
            store_path="r.bin",
            block_size=64 * KiB,
        )
    )
    assert not first.resumed
    upload(stub, first.task, data, [1])
    again = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="r.bin",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            store_path="r.bin",
        )
    )
    assert again.resumed
    assert again.task.task_id == first.task.task_id
    assert again.task.committed_bytes == 64 * KiB
    assert missing(stub, first.task.task_id) == [(0, 1), (2, 3)]


def test_merge_is_idempotent_and_returns_metadata(server: FerryServer, stub: rpc.FerryServiceStub):
    data = os.urandom(200 * KiB)
    task = create(stub, data, "meta.bin", metadata={"video_id": "42", "owner": "ops"})
    upload(stub, task, data)
    first = merge(stub, task.task_id)
    second = merge(stub, task.task_id)
    assert first == second
    assert dict(first.metadata) == {"video_id": "42", "owner": "ops"}
    assert first.store_path == "meta.bin"
    got = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    assert got.state == pb.TASK_STATE_COMPLETED


def test_a_resent_committed_block_is_a_no_op(stub: rpc.FerryServiceStub):
    data = os.urandom(2 * 64 * KiB)
    task = create(stub, data, "dup.bin", block_size=64 * KiB)
    upload(stub, task, data, [0])
    acks = upload(stub, task, data, [0, 0, 1])
    assert [a.status for a in acks] == [pb.BLOCK_STATUS_COMMITTED] * 3
    done = stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=task.task_id))
    assert done.committed_bytes == len(data)


def test_overwrite_replaces_an_existing_file(server: FerryServer, stub: rpc.FerryServiceStub):
    target = published(server, "over.bin")
    target.write_bytes(b"old")
    data = os.urandom(1000)
    task = create(stub, data, "over.bin", overwrite=True)
    upload(stub, task, data)
    merge(stub, task.task_id)
    assert target.read_bytes() == data


def test_message_pieces_of_various_sizes_make_one_block(
    server: FerryServer, stub: rpc.FerryServiceStub
):
    data = os.urandom(1024 * KiB + 5)
    task = create(stub, data, "pieces.bin", block_size=1024 * KiB)
    messages = block_messages(task, data, 0, chunk=1000 * KiB - 3) + block_messages(
        task, data, 1, chunk=1
    )
    acks = list(stub.UploadParts(iter(messages)))
    assert [a.status for a in acks] == [pb.BLOCK_STATUS_COMMITTED] * 2
    merge(stub, task.task_id)
    assert published(server, "pieces.bin").read_bytes() == data


def test_the_server_stops_gracefully_mid_stream(settings, tmp_path):
    """stop() with in-flight streams: committed blocks stay, the partial one is dropped."""
    server = create_server(settings)
    server.start()
    data = os.urandom(4 * 64 * KiB)
    gate = threading.Event()
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "graceful.bin", block_size=64 * KiB)

        def requests():
            yield from block_messages(task, data, 0)
            yield block_messages(task, data, 1, chunk=1024)[0]
            gate.wait(30)

        call = stub.UploadParts(requests())
        first = next(call)
        assert first.block_index == 0
        server.stop(grace=0.5)
        gate.set()
        with pytest.raises(grpc.RpcError):
            list(call)
    restarted = create_server(settings)
    restarted.start()
    try:
        with grpc.insecure_channel(restarted.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            assert missing(stub, task.task_id) == [(1, 4)]
    finally:
        restarted.stop(0)
