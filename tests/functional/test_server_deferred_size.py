"""A task whose size is known only at the end (a pipe): declared with size_deferred, its blocks
end at the message carrying crc32c, and Merge fixes the size once the committed blocks add up to
it. A client that lies about the size cannot publish bytes no block covered."""

from __future__ import annotations

import hashlib
import os

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.support.protocol import KiB

BLOCK = 64 * KiB


def declare(stub: rpc.FerryServiceStub, store_path: str, max_size: int = 0) -> pb.Task:
    request = pb.CreateTaskRequest(
        file_name="pipe", store_path=store_path, block_size=BLOCK, size_deferred=True,
        max_size=max_size,
    )  # fmt: skip
    return stub.CreateTask(request).task


def send(stub: rpc.FerryServiceStub, task_id: str, blocks: dict[int, bytes]) -> list[int]:
    """Each block in messages of 16 KiB, crc32c on its last one; the acknowledged statuses."""

    def requests():
        for index, block in blocks.items():
            pieces = [block[o : o + 16 * KiB] for o in range(0, len(block), 16 * KiB)] or [b""]
            offset = 0
            for n, piece in enumerate(pieces):
                message = pb.UploadPartsRequest(
                    task_id=task_id, block_index=index, offset=offset, data=piece
                )
                if n == len(pieces) - 1:
                    message.crc32c = google_crc32c.value(block)
                offset += len(piece)
                yield message

    return [ack.status for ack in stub.UploadParts(requests())]


def split(data: bytes) -> dict[int, bytes]:
    return {i: data[i * BLOCK : (i + 1) * BLOCK] for i in range(-(-len(data) // BLOCK))}


def merge(stub: rpc.FerryServiceStub, task_id: str, data: bytes, size: int | None) -> pb.Task:
    request = pb.MergeRequest(task_id=task_id, sha256=hashlib.sha256(data).hexdigest())
    if size is not None:
        request.size = size
    return stub.Merge(request).task


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as excinfo:
        call()
    return excinfo.value


@pytest.mark.parametrize("size", [3 * BLOCK + 1000, 2 * BLOCK])
def test_a_pipe_declares_its_size_at_merge(
    server: FerryServer, stub: rpc.FerryServiceStub, size: int
):
    data = os.urandom(size)
    task = declare(stub, "pipe.bin", max_size=10 * BLOCK)
    assert (task.size, task.size_deferred, task.max_size) == (0, True, 10 * BLOCK)
    assert task.block_count == 10
    # Blocks in any order, the short last one first.
    blocks = split(data)
    assert send(stub, task.task_id, dict(reversed(blocks.items()))) == [
        pb.BLOCK_STATUS_COMMITTED
    ] * len(blocks)
    error = refused(lambda: merge(stub, task.task_id, data, None))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "must give it" in error.details()
    done = merge(stub, task.task_id, data, size)
    assert (done.state, done.size, done.size_deferred) == (pb.TASK_STATE_COMPLETED, size, False)
    assert done.block_count == len(blocks)
    assert (server.settings.resolved_storage_root / "pipe.bin").read_bytes() == data
    # Merge again: the same answer; another size is not this file.
    assert merge(stub, task.task_id, data, size) == done
    error = refused(lambda: merge(stub, task.task_id, data, size + 1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not the same file" in error.details()


def test_sizes_the_blocks_do_not_add_up_to_are_refused(stub: rpc.FerryServiceStub):
    data = os.urandom(2 * BLOCK + 500)
    task = declare(stub, "lies.bin", max_size=4 * BLOCK)
    send(stub, task.task_id, split(data))
    cases = {
        # Shorter: block 2 lies past the end. Same block count, other last length.
        2 * BLOCK: grpc.StatusCode.INVALID_ARGUMENT,
        2 * BLOCK + 499: grpc.StatusCode.INVALID_ARGUMENT,
        # Longer: block 3 was never sent.
        3 * BLOCK + 1: grpc.StatusCode.FAILED_PRECONDITION,
        # Past the declared maximum.
        4 * BLOCK + 1: grpc.StatusCode.OUT_OF_RANGE,
    }
    for size, code in cases.items():
        error = refused(lambda size=size: merge(stub, task.task_id, data, size))
        assert error.code() == code, (size, error.details())
    state = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    assert (state.state, state.size_deferred) == (pb.TASK_STATE_UPLOADING, True)
    assert merge(stub, task.task_id, data, len(data)).state == pb.TASK_STATE_COMPLETED


def test_a_short_block_before_the_last_can_never_publish(
    server: FerryServer, stub: rpc.FerryServiceStub
):
    """A hostile client ends block 0 early and sends a full block 1: no size fits."""
    task = declare(stub, "short.bin")
    first, second = os.urandom(1000), os.urandom(BLOCK)
    send(stub, task.task_id, {0: first, 1: second})
    for size in (1000, BLOCK + 1000, 2 * BLOCK):
        error = refused(lambda size=size: merge(stub, task.task_id, first + second, size))
        assert error.code() in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.FAILED_PRECONDITION,
        ), size
    assert not (server.settings.resolved_storage_root / "short.bin").exists()


def test_declarations_that_contradict_themselves(server: FerryServer, stub: rpc.FerryServiceStub):
    limit = server.settings.max_file_size
    for request, code in [
        (pb.CreateTaskRequest(size=5, size_deferred=True), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.CreateTaskRequest(size=5, max_size=9), grpc.StatusCode.INVALID_ARGUMENT),
        (
            pb.CreateTaskRequest(size_deferred=True, max_size=limit + 1),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
    ]:
        request.file_name, request.store_path = "x", "contradiction.bin"
        error = refused(lambda request=request: stub.CreateTask(request))
        assert error.code() == code, error.details()
    # Without max_size the server's maximum bounds it.
    task = declare(stub, "unbounded.bin")
    assert task.max_size == limit
    # A deferred declaration never resumes a task, nor is resumed.
    error = refused(lambda: declare(stub, "unbounded.bin"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert task.task_id in error.details()


def test_blocks_past_the_bounds(stub: rpc.FerryServiceStub):
    task = declare(stub, "bounds.bin", max_size=2 * BLOCK)
    error = refused(lambda: send(stub, task.task_id, {2: b"x"}))
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    data = os.urandom(BLOCK + 10)
    send(stub, task.task_id, split(data))
    merge(stub, task.task_id, data, len(data))
    # No block is longer than block_size, whatever the size to come.
    other = declare(stub, "bounds2.bin", max_size=2 * BLOCK)
    block = os.urandom(BLOCK + 1)
    message = pb.UploadPartsRequest(
        task_id=other.task_id, block_index=0, offset=0, data=block,
        crc32c=google_crc32c.value(block),
    )  # fmt: skip
    error = refused(lambda: list(stub.UploadParts(iter([message]))))
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
