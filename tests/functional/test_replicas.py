"""Two server processes sharing one PostgreSQL database and one data directory."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from tests.support.databases import fresh_postgres_schema
from tests.support.processes import two_replicas
from tests.support.protocol import (
    KiB,
    block_messages,
    create,
    merge,
    missing_set,
    set_state,
    upload,
)


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[rpc.FerryServiceStub, rpc.FerryServiceStub]]:
    with (
        fresh_postgres_schema() as url,
        two_replicas(tmp_path / "shared-data", url) as (a, b),
        grpc.insecure_channel(a.address) as ca,
        grpc.insecure_channel(b.address) as cb,
    ):
        yield rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)


def test_blocks_uploaded_half_through_each_replica(replicas, tmp_path: Path):
    a, b = replicas
    data = os.urandom(8 * 64 * KiB + 3)
    task = create(a, data, "shared/half.bin", block_size=64 * KiB)
    upload(a, task, data, range(0, 9, 2))
    upload(b, task, data, range(1, 9, 2))
    assert missing_set(a, task.task_id) == missing_set(b, task.task_id) == set()
    done = merge(b, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "shared-data" / "files" / "shared/half.bin").read_bytes() == data


def test_pause_through_one_replica_stops_a_stream_on_the_other(replicas):
    a, b = replicas
    data = os.urandom(6 * 64 * KiB)
    task = create(a, data, "shared/paused.bin", block_size=64 * KiB)
    paused = threading.Event()

    def requests() -> Iterator[pb.UploadPartsRequest]:
        yield from block_messages(task, data, 0)
        paused.wait(30)
        # This block was in flight when the pause landed on the other replica.
        yield from block_messages(task, data, 1)
        yield from block_messages(task, data, 2)

    call = b.UploadParts(requests())
    assert next(call).block_index == 0
    set_state(a, task.task_id, pb.TASK_STATE_PAUSED)
    paused.set()
    with pytest.raises(grpc.RpcError) as excinfo:
        list(call)
    assert excinfo.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "PAUSED" in excinfo.value.details()
    assert missing_set(a, task.task_id) == {1, 2, 3, 4, 5}


def test_pause_mid_block_on_another_replica_leaves_that_block_uncommitted(replicas):
    a, b = replicas
    data = os.urandom(3 * 64 * KiB)
    task = create(a, data, "shared/mid.bin", block_size=64 * KiB)
    half = threading.Event()
    paused = threading.Event()
    messages = block_messages(task, data, 1, chunk=16 * KiB)

    def requests() -> Iterator[pb.UploadPartsRequest]:
        yield from block_messages(task, data, 0)
        yield from messages[:2]
        half.set()
        paused.wait(30)
        yield from messages[2:]

    call = b.UploadParts(requests())
    assert next(call).block_index == 0
    assert half.wait(30)
    set_state(a, task.task_id, pb.TASK_STATE_PAUSED)
    paused.set()
    with pytest.raises(grpc.RpcError) as excinfo:
        list(call)
    assert excinfo.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert missing_set(b, task.task_id) == {1, 2}
    set_state(b, task.task_id, pb.TASK_STATE_UPLOADING)
    upload(a, task, data, [1, 2])
    assert merge(a, task.task_id).state == pb.TASK_STATE_COMPLETED


def test_concurrent_merges_on_two_replicas_publish_once_and_agree(replicas, tmp_path: Path):
    a, b = replicas
    data = os.urandom(24 * 1024 * KiB)
    task = create(a, data, "shared/merge.bin", block_size=1024 * KiB)
    upload(a, task, data, range(0, task.block_count, 2))
    upload(b, task, data, range(1, task.block_count, 2))
    barrier = threading.Barrier(2)

    def merge_on(stub: rpc.FerryServiceStub) -> pb.Task:
        barrier.wait()
        return merge(stub, task.task_id)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(merge_on, [a, b]))
    assert results[0] == results[1]
    assert results[0].state == pb.TASK_STATE_COMPLETED
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    published = tmp_path / "shared-data" / "files" / "shared/merge.bin"
    assert published.read_bytes() == data
    logs = [(tmp_path / f"replica-{n}.log").read_text() for n in "ab"]
    assert sum(log.count(f"task {task.task_id} COMPLETED") for log in logs) == 1
