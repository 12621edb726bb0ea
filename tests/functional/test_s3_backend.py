"""The server with ``--storage s3://...`` against a real SeaweedFS, on SQLite and PostgreSQL:
blocks become parts uploaded once each after their commit, Merge completes from the recorded
ETags checked against ListParts, then verifies and copies the staged object to store_path;
bad input, duplicates, a part replaced behind Ferry's back, cancel and the sweeper.

A representative subset of the filesystem suite (tests/functional/test_server_*.py): S3 parts
are at least 5 MiB, so each file here is a few blocks of 5 MiB rather than many small ones."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_server.app import FerryServer, StartupError, create_server, run_fsck
from ferry_server.config import KiB, Settings
from ferry_server.domain.errors import IllegalState
from ferry_server.domain.part_size import MIN_PART_SIZE
from ferry_server.domain.ports import BlockCommit, CommitOutcome
from ferry_server.storage.objectstore import crc32c_base64
from ferry_server.storage.s3blocks import STAGING, S3BlockStore

from tests.support.databases import fresh_postgres_schema
from tests.support.protocol import block_messages, create, merge, missing, set_state, statuses
from tests.support.seaweedfs import S3Endpoint, aws_credentials

MiB = 1024 * KiB
BLOCK = MIN_PART_SIZE


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def s3_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: S3Endpoint,
) -> Iterator[Settings]:
    """One server's settings per database for the module (starting a server costs seconds);
    credentials through the standard AWS chain (its environment variables), as deployed."""
    with aws_credentials(s3_endpoint), contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_schema())
        yield Settings(
            data_dir=tmp_path_factory.mktemp("s3-backend") / "data",
            listen="127.0.0.1:0",
            database_url=url,
            storage=f"s3://{s3_endpoint.bucket}/t-{secrets.token_hex(4)}",
            s3_endpoint_url=s3_endpoint.url,
            s3_region=s3_endpoint.region,
            min_block_size=64 * KiB,
            default_block_size=256 * KiB,
            max_block_size=8 * MiB,
            max_file_size=64 * MiB,
            blocking_threads=16,
        )


@pytest.fixture(scope="module")
def shared_server(s3_settings: Settings) -> Iterator[FerryServer]:
    ferry = create_server(s3_settings)
    ferry.start()
    try:
        yield ferry
    finally:
        ferry.stop(grace=0)


@pytest.fixture
def s3_server(shared_server: FerryServer) -> FerryServer:
    """The module's server, its part-upload counts started afresh for this test (each test
    uses its own tasks and store paths)."""
    _store(shared_server).s3._part_uploads.clear()
    return shared_server


@pytest.fixture
def s3_stub(s3_server: FerryServer) -> Iterator[rpc.FerryServiceStub]:
    with grpc.insecure_channel(s3_server.address) as channel:
        yield rpc.FerryServiceStub(channel)


def _store(server: FerryServer) -> S3BlockStore:
    return cast(S3BlockStore, server.store)


def published(server: FerryServer, store_path: str) -> bytes:
    s3 = _store(server).s3
    return b"".join(s3.read(store_path, 0, s3.size(store_path)))


def part_uploads(server: FerryServer) -> list[int]:
    """How often each part number was uploaded during this test."""
    return list(_store(server).s3.part_upload_counts().values())


def left_in_staging(server: FerryServer, task_id: str) -> list[str]:
    """The task's upload and objects left under Ferry's staging keys."""
    s3 = _store(server).s3
    key = f"{STAGING}/{task_id}"
    uploads = [u.key for u in s3.list_uploads(key)]
    return uploads + [k for k, _ in s3.list_objects(key)]


def spooled(server: FerryServer, task_id: str) -> list[str]:
    """The task's spool files on this replica."""
    return [
        e.name for e in server.settings.resolved_spool_dir.iterdir() if e.name.startswith(task_id)
    ]


def send(stub: rpc.FerryServiceStub, task: pb.Task, data: bytes, indices: list[int]) -> dict:
    def requests() -> Iterator[pb.UploadPartsRequest]:
        for index in indices:
            yield from block_messages(task, data, index, chunk=1 * MiB)

    return statuses(list(stub.UploadParts(requests())))


def test_blocks_become_parts_and_merge_publishes_the_verified_object(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(2 * BLOCK + 1234)
    task = create(s3_stub, data, "deep/dir/multi.bin")
    # The server picked S3's smallest part size over its own 256 KiB default.
    assert (task.block_size, task.block_count) == (BLOCK, 3)
    acks = send(s3_stub, task, data, [0, 1, 2])
    assert acks == dict.fromkeys(range(3), pb.BLOCK_STATUS_COMMITTED)
    assert part_uploads(s3_server) == [1, 1, 1]
    done = merge(s3_stub, task.task_id)
    assert done.state == pb.TASK_STATE_COMPLETED
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert published(s3_server, "deep/dir/multi.bin") == data
    # In order through one replica: hashed from the spool as blocks landed, nothing read back.
    assert s3_server.hashed_bytes(task.task_id) == 0  # forgotten once completed
    assert left_in_staging(s3_server, task.task_id) == []
    assert spooled(s3_server, task.task_id) == []


def test_empty_and_one_block_files(s3_server: FerryServer, s3_stub: rpc.FerryServiceStub):
    empty = create(s3_stub, b"", "empty.bin")
    assert merge(s3_stub, empty.task_id).sha256 == hashlib.sha256(b"").hexdigest()
    assert published(s3_server, "empty.bin") == b""
    data = os.urandom(1000)
    task = create(s3_stub, data, "small.bin")
    assert send(s3_stub, task, data, [0]) == {0: pb.BLOCK_STATUS_COMMITTED}
    merge(s3_stub, task.task_id)
    assert published(s3_server, "small.bin") == data
    assert left_in_staging(s3_server, task.task_id) == left_in_staging(s3_server, empty.task_id)
    assert left_in_staging(s3_server, task.task_id) == []


def test_duplicate_streams_out_of_order_upload_each_part_once(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(4 * BLOCK - 7)
    task = create(s3_stub, data, "dup.bin")
    orders = [[3, 1, 2, 0], [0, 2, 1, 3], [2, 3, 0, 1]]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda order: send(s3_stub, task, data, order), orders))
    assert results == [dict.fromkeys(range(4), pb.BLOCK_STATUS_COMMITTED)] * 3
    assert sorted(part_uploads(s3_server)) == [1, 1, 1, 1]
    merge(s3_stub, task.task_id)
    assert published(s3_server, "dup.bin") == data


def test_other_bytes_for_a_committed_block_are_refused_and_never_uploaded(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(2 * BLOCK)
    task = create(s3_stub, data, "other.bin")
    assert send(s3_stub, task, data, [0, 1]) == dict.fromkeys(range(2), pb.BLOCK_STATUS_COMMITTED)
    changed = bytes([data[0] ^ 1]) + data[1:]
    assert send(s3_stub, task, changed, [0]) == {0: pb.BLOCK_STATUS_COMMITTED_DIFFERENT}
    assert part_uploads(s3_server) == [1, 1]
    merge(s3_stub, task.task_id)
    assert published(s3_server, "other.bin") == data


def test_a_corrupted_block_is_not_committed_nor_uploaded(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(BLOCK + 10)
    task = create(s3_stub, data, "bad.bin")
    acks = list(s3_stub.UploadParts(iter(block_messages(task, data, 0, corrupt=True))))
    assert statuses(acks) == {0: pb.BLOCK_STATUS_CHECKSUM_MISMATCH}
    assert part_uploads(s3_server) == []
    assert missing(s3_stub, task.task_id) == [(0, 2)]
    assert spooled(s3_server, task.task_id) == []


def test_block_sizes_outside_s3_part_bounds_are_refused(s3_stub: rpc.FerryServiceStub):
    with pytest.raises(grpc.RpcError) as caught:
        create(s3_stub, os.urandom(10), "tiny-blocks.bin", block_size=64 * KiB)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "object store" in (caught.value.details() or "")


def test_overwrite_off_refuses_an_existing_object_and_on_replaces_it(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    first = os.urandom(BLOCK + 1)
    task = create(s3_stub, first, "same.bin")
    send(s3_stub, task, first, [0, 1])
    merge(s3_stub, task.task_id)
    second = os.urandom(100)
    with pytest.raises(grpc.RpcError) as caught:
        create(s3_stub, second, "same.bin")
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    task = create(s3_stub, second, "same.bin", overwrite=True)
    send(s3_stub, task, second, [0])
    merge(s3_stub, task.task_id)
    assert published(s3_server, "same.bin") == second


def test_an_object_appearing_before_merge_is_not_replaced_when_overwrite_is_off(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(300)
    task = create(s3_stub, data, "raced.bin")
    send(s3_stub, task, data, [0])
    other = b"someone else"
    _store(s3_server).s3.put("raced.bin", other, google_crc32c.value(other), if_none_match=False)
    with pytest.raises(grpc.RpcError) as caught:
        merge(s3_stub, task.task_id)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert published(s3_server, "raced.bin") == b"someone else"


def test_a_part_replaced_behind_ferrys_back_fails_merge_and_publishes_nothing(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(2 * BLOCK)
    task = create(s3_stub, data, "tampered.bin")
    send(s3_stub, task, data, [0, 1])
    store = _store(s3_server)
    key = f"{STAGING}/{task.task_id}"
    other = os.urandom(BLOCK)
    store.s3.client.upload_part(
        Bucket=store.s3.location.bucket,
        Key=store.s3.location.prefix + key,
        UploadId=store.s3.list_uploads(key)[0].upload_id,
        PartNumber=2,
        Body=other,
        ChecksumCRC32C=crc32c_base64(google_crc32c.value(other)),
    )
    with pytest.raises(grpc.RpcError) as caught:
        merge(s3_stub, task.task_id)
    assert caught.value.code() == grpc.StatusCode.DATA_LOSS
    assert not store.s3.exists("tampered.bin")
    status = s3_stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    assert status.state == pb.TASK_STATE_FAILED
    assert left_in_staging(s3_server, task.task_id) == []


def test_cancel_aborts_the_multipart_upload(s3_server: FerryServer, s3_stub: rpc.FerryServiceStub):
    data = os.urandom(2 * BLOCK)
    task = create(s3_stub, data, "canceled.bin")
    send(s3_stub, task, data, [1])
    assert len(left_in_staging(s3_server, task.task_id)) == 1
    set_state(s3_stub, task.task_id, pb.TASK_STATE_CANCELED)
    assert left_in_staging(s3_server, task.task_id) == []
    assert spooled(s3_server, task.task_id) == []


def test_the_sweeper_aborts_uploads_of_no_task_and_removes_crashed_spool_files(
    s3_server: FerryServer,
):
    store = _store(s3_server)
    orphan = secrets.token_hex(16)
    store.create(orphan)  # as if CreateTask died before inserting its row
    crashed = store.spool.open(orphan, 0, "deadbeef", 10)
    crashed.write(b"0123456789")
    crashed.close()
    service = s3_server.service
    limits = service.limits
    # Everything is older than an orphan age of zero; the lease is the sweeper's own.
    service._limits = dataclasses.replace(limits, orphan_age=timedelta(0))
    try:
        assert service.sweep_storage() >= 2
    finally:
        service._limits = limits
    assert left_in_staging(s3_server, orphan) == []
    assert spooled(s3_server, orphan) == []


def test_upload_file_publishes_through_the_store(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(5000)
    reply = s3_stub.UploadFile(
        pb.UploadFileRequest(
            file_name="whole.bin",
            store_path="whole.bin",
            data=data,
            crc32c=google_crc32c.value(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    )
    assert reply.task.state == pb.TASK_STATE_COMPLETED
    assert published(s3_server, "whole.bin") == data
    assert left_in_staging(s3_server, reply.task.task_id) == []


def test_store_paths_inside_ferrys_staging_are_refused(s3_stub: rpc.FerryServiceStub):
    with pytest.raises(grpc.RpcError) as caught:
        create(s3_stub, b"x", f"{STAGING}/abc")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_missing_bucket_stops_the_server_at_start_with_a_clear_message(s3_settings: Settings):
    settings = s3_settings.replace(storage="s3://no-such-bucket-here/x")
    with pytest.raises(StartupError, match="no-such-bucket-here"):
        create_server(settings)


def test_fsck_refuses_object_store_mode_and_says_what_does_its_work(s3_settings: Settings):
    with pytest.raises(StartupError, match="sweeper reconciles"):
        run_fsck(s3_settings, min_age=0, repair=False)


def _commit_without_landing(
    server: FerryServer, task: pb.Task, data: bytes, index: int, *, spooled: bool
) -> str:
    """What a lander killed after its SQL commit and before its upload leaves: the row without
    a receipt and, on its replica, the spool file (``spooled``)."""
    block = data[index * task.block_size : (index + 1) * task.block_size]
    attempt = secrets.token_hex(8)
    if spooled:
        writer = _store(server).spool.open(task.task_id, index, attempt, len(block))
        writer.write(block)
        writer.close()
    outcome = server.service._repo.commit_block(
        BlockCommit(task.task_id, index, len(block), google_crc32c.value(block), attempt,
                    datetime.now(UTC))
    )  # fmt: skip
    assert outcome is CommitOutcome.COMMITTED
    return attempt


def test_a_block_committed_but_never_uploaded_is_landed_by_the_retry_from_the_spool(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(BLOCK + 100)
    task = create(s3_stub, data, "landed-later.bin")
    _commit_without_landing(s3_server, task, data, 0, spooled=True)
    # Not acknowledged before: the retry finds no part, uploads the spooled winner, records it.
    assert send(s3_stub, task, data, [0, 1]) == dict.fromkeys([0, 1], pb.BLOCK_STATUS_COMMITTED)
    assert part_uploads(s3_server) == [1, 1]
    merge(s3_stub, task.task_id)
    assert published(s3_server, "landed-later.bin") == data


def test_the_sweeper_reverts_a_committed_block_whose_bytes_never_reached_the_store(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(BLOCK + 100)
    task = create(s3_stub, data, "reverted.bin")
    _commit_without_landing(s3_server, task, data, 0, spooled=False)  # spool on a lost replica
    assert missing(s3_stub, task.task_id) == [(1, 2)]
    send(s3_stub, task, data, [1])
    with pytest.raises(grpc.RpcError) as caught:
        merge(s3_stub, task.task_id)
    assert caught.value.code() == grpc.StatusCode.ABORTED  # "not stored yet": retry later
    service = s3_server.service
    limits = service.limits
    service._limits = dataclasses.replace(limits, orphan_age=timedelta(0))
    try:
        assert service.sweep_storage() >= 1
    finally:
        service._limits = limits
    assert missing(s3_stub, task.task_id) == [(0, 1)]
    send(s3_stub, task, data, [0])
    merge(s3_stub, task.task_id)
    assert published(s3_server, "reverted.bin") == data
    assert sorted(part_uploads(s3_server)) == [1, 1]


def test_expiry_aborts_the_multipart_upload(s3_server: FerryServer, s3_stub: rpc.FerryServiceStub):
    service = s3_server.service
    limits = service.limits
    service._limits = dataclasses.replace(limits, task_ttl=timedelta(microseconds=1))
    try:
        task = create(s3_stub, os.urandom(100), "expired.bin")
    finally:
        service._limits = limits
    assert len(left_in_staging(s3_server, task.task_id)) == 1
    assert service.expire_idle() == 1
    assert s3_stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state == (
        pb.TASK_STATE_EXPIRED
    )
    assert left_in_staging(s3_server, task.task_id) == []


def test_the_python_client_uploads_into_the_store(s3_server: FerryServer, tmp_path: Path):
    source = tmp_path / "source.bin"
    data = os.urandom(2 * BLOCK + 4321)
    source.write_bytes(data)
    with FerryClient(s3_server.address, remember_uploads=False) as client:
        result = client.upload(source, "client/upload.bin")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert published(s3_server, "client/upload.bin") == data
    assert sorted(part_uploads(s3_server)) == [1, 1, 1]


def test_ferry_fsck_refuses_object_store_mode_and_a_database_that_serves_one(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(100)
    send(s3_stub, create(s3_stub, data, "fsck-guard.bin"), data, [0])  # a block with its ETag
    settings = s3_server.settings
    common = [sys.executable, "-m", "ferry_server", "fsck", "--data-dir", str(settings.data_dir),
              "--repair"]  # fmt: skip
    if settings.database_url:
        common += ["--database-url", settings.database_url]
    env = {k: v for k, v in os.environ.items() if k != "FERRY_STORAGE"}
    told = subprocess.run([*common, "--storage", settings.storage], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip
    assert told.returncode == 2
    assert "sweeper reconciles" in told.stderr
    # Forgetting --storage must not "repair" every block away: the database says where they are.
    forgot = subprocess.run(common, capture_output=True, text=True, env=env, check=False)
    assert forgot.returncode == 2
    assert "object store" in forgot.stderr
    assert missing(s3_stub, create(s3_stub, data, "fsck-guard.bin").task_id) == []


def test_read_file_streams_the_published_object_and_refuses_a_replaced_one(
    s3_server: FerryServer, s3_stub: rpc.FerryServiceStub
):
    data = os.urandom(BLOCK + 777)
    task = create(s3_stub, data, "download/one.bin")
    send(s3_stub, task, data, [0, 1])
    merge(s3_stub, task.task_id)
    whole = list(s3_stub.ReadFile(pb.ReadFileRequest(store_path="download/one.bin")))
    assert whole[0].generation.task_id == task.task_id
    assert b"".join(m.data for m in whole) == data
    assert all(google_crc32c.value(m.data) == m.crc32c for m in whole)
    middle = s3_stub.ReadFile(pb.ReadFileRequest(task_id=task.task_id, offset=10, length=20))
    assert b"".join(m.data for m in middle) == data[10:30]
    # Replaced behind Ferry's back between the open and the read: refused, never spliced.
    opened = _store(s3_server).open_published("download/one.bin")
    _store(s3_server).s3.put("download/one.bin", b"x" * 100, google_crc32c.value(b"x" * 100),
                             if_none_match=False)  # fmt: skip
    with pytest.raises(IllegalState):
        list(opened.read(0, 10, 5))
