"""Resume anywhere: an upload interrupted through one replica is resumed through another (same
PostgreSQL and data directory), with or without the state file, once the client has proved by
the committed blocks' CRC32C that the task holds its file; another file's task is refused and
left untouched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import AlreadyExists, FerryClient, RetryPolicy, TransientError
from ferry_server.app import FerryServer
from ferry_server.domain.identity import ANONYMOUS_CALLER

from tests.support.client_tools import (
    QUICK_RETRY,
    BackgroundCall,
    Gate,
    make_file,
    published,
    sha256_of,
)
from tests.support.databases import fresh_postgres_schema
from tests.support.processes import ServerProcess, two_replicas
from tests.support.protocol import KiB, block_messages, create, missing_set, upload

BLOCK = 64 * KiB
SIZE = 32 * BLOCK + 7
#: Gives up at the first failure: the upload through the killed replica stops at once.
NO_RETRY = RetryPolicy(max_attempts=1, max_elapsed=None)


@dataclass
class Replicas:
    a: ServerProcess
    b: ServerProcess
    b_stub: rpc.FerryServiceStub
    data_dir: Path


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    data_dir = tmp_path / "shared-data"
    with (
        fresh_postgres_schema() as url,
        two_replicas(data_dir, url) as (a, b),
        grpc.insecure_channel(b.address) as channel,
    ):
        yield Replicas(a, b, rpc.FerryServiceStub(channel), data_dir)


def interrupted_on_a(replicas: Replicas, source: Path, state_file: Path) -> str:
    """Upload ``source`` through replica A until a third is done, then kill A: the client
    gives up (TransientError) and the task stays UPLOADING with some blocks committed."""
    gate = Gate(threshold=SIZE // 3)
    events: list[str] = []
    with FerryClient(replicas.a.address, state_file=state_file, retry=NO_RETRY) as client:
        call = BackgroundCall(
            lambda: client.upload(
                source,
                "shared/resumed.bin",
                block_size=BLOCK,
                parallelism=2,
                progress=gate,
                on_event=lambda e: events.append(e.task_id or "") if e.kind == "created" else None,
            )
        )
        gate.wait_reached()
        replicas.a.kill()
        gate.release()
        with pytest.raises(TransientError):
            call.result()
    assert len(events) == 1 and events[0]
    return events[0]


def committed(stub: rpc.FerryServiceStub, task_id: str) -> int:
    report = stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=task_id))
    return report.committed_bytes


@pytest.mark.parametrize("state_file_kept", [True, False], ids=["state-kept", "state-lost"])
def test_upload_interrupted_on_one_replica_resumes_on_the_other(
    replicas: Replicas, tmp_path: Path, state_file_kept: bool
) -> None:
    source = make_file(tmp_path / "src.bin", SIZE, seed=1)
    state_file = tmp_path / "state.json"
    task_id = interrupted_on_a(replicas, source, state_file)
    before = committed(replicas.b_stub, task_id)
    assert 0 < before < SIZE
    if not state_file_kept:
        state_file.unlink()

    with FerryClient(replicas.b.address, state_file=state_file, retry=QUICK_RETRY) as client:
        result = client.upload(source, "shared/resumed.bin", block_size=BLOCK, parallelism=2)

    assert result.task_id == task_id
    assert result.resumed
    assert result.committed_at_start == before
    assert result.bytes_sent == SIZE - before
    assert sha256_of(published(replicas.data_dir, "shared/resumed.bin")) == sha256_of(source)


def test_another_file_of_the_same_size_is_refused_and_its_task_left_alone(
    replicas: Replicas, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", SIZE, seed=1)
    task_id = interrupted_on_a(replicas, source, tmp_path / "state.json")
    before = missing_set(replicas.b_stub, task_id)
    other = make_file(tmp_path / "other.bin", SIZE, seed=2)

    with (
        FerryClient(
            replicas.b.address, state_file=tmp_path / "other-state.json", retry=QUICK_RETRY
        ) as client,
        pytest.raises(AlreadyExists) as refused,
    ):
        client.upload(other, "shared/resumed.bin", block_size=BLOCK)

    assert refused.value.reason == "STORE_PATH_TAKEN"
    assert refused.value.task_id == task_id
    task = replicas.b_stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task
    assert task.state == pb.TASK_STATE_UPLOADING
    assert missing_set(replicas.b_stub, task_id) == before


def test_task_whose_committed_blocks_match_only_partly_is_not_resumed(
    replicas: Replicas, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", SIZE, seed=1)
    data = source.read_bytes()
    # A hostile task: block 0 is the file's, block 1 is not.
    forged = data[:BLOCK] + os.urandom(BLOCK) + data[2 * BLOCK :]
    task = create(replicas.b_stub, forged, "shared/resumed.bin", block_size=BLOCK, sha256="")
    acks = list(
        replicas.b_stub.UploadParts(
            iter([*block_messages(task, forged, 0), *block_messages(task, forged, 1)])
        )
    )
    assert len(acks) == 2

    with (
        FerryClient(replicas.b.address, state_file=tmp_path / "s.json", retry=QUICK_RETRY) as c,
        pytest.raises(AlreadyExists) as refused,
    ):
        c.upload(source, "shared/resumed.bin", block_size=BLOCK)

    assert refused.value.reason == "STORE_PATH_TAKEN"
    assert refused.value.task_id == task.task_id
    assert missing_set(replicas.b_stub, task.task_id) == set(range(2, 33))


def test_task_with_nothing_committed_is_refused_with_advice(
    replicas: Replicas, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", SIZE, seed=1)
    task = create(
        replicas.b_stub, source.read_bytes(), "shared/resumed.bin", block_size=BLOCK, sha256=""
    )

    with (
        FerryClient(replicas.b.address, state_file=tmp_path / "s.json", retry=QUICK_RETRY) as c,
        pytest.raises(AlreadyExists) as refused,
    ):
        c.upload(source, "shared/resumed.bin", block_size=BLOCK)

    assert refused.value.task_id == task.task_id
    assert f"ferry cancel {task.task_id}" in refused.value.message
    state = replicas.b_stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state
    assert state == pb.TASK_STATE_UPLOADING


def test_committed_crc32c_are_listed_in_pages_only_when_asked(
    replicas: Replicas, tmp_path: Path
) -> None:
    data = make_file(tmp_path / "src.bin", SIZE, seed=1).read_bytes()
    task = create(replicas.b_stub, data, "shared/listed.bin", block_size=BLOCK, sha256="")
    list(
        replicas.b_stub.UploadParts(
            iter([m for i in (0, 3) for m in block_messages(task, data, i)])
        )
    )
    plain = replicas.b_stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=task.task_id))
    assert list(plain.committed) == []
    asked = replicas.b_stub.QueryMissingBlocks(
        pb.QueryMissingBlocksRequest(
            task_id=task.task_id, include_committed_crc32c=True, committed_start=1
        )
    )
    assert [b.index for b in asked.committed] == [3]
    assert asked.next_committed_index == 0


def test_committed_crc32c_pages_cover_every_committed_block_once(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    data = make_file(tmp_path / "src.bin", 6 * BLOCK + 1, seed=3).read_bytes()
    task = create(stub, data, "paged.bin", block_size=BLOCK, sha256="")
    upload(stub, task, data, [0, 1, 2, 4, 6])
    pages = []
    start = 0
    while True:
        report = server.service.missing_blocks(
            task.task_id, ANONYMOUS_CALLER, crc32c_from=start, page=2
        )
        pages.append([index for index, _ in report.committed])
        if report.next_committed_index == 0:
            break
        start = report.next_committed_index
    assert pages == [[0, 1], [2, 4], [6]]
    crcs = dict(
        server.service.missing_blocks(task.task_id, ANONYMOUS_CALLER, crc32c_from=0).committed
    )
    assert crcs[4] == google_crc32c.value(data[4 * BLOCK : 5 * BLOCK])
