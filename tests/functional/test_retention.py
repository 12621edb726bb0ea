"""Retention (issue 11): an ended task's block rows go in bounded batches, its row after the
retention period; published files get the configured mode."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings
from ferry_server.persistence.repository import SqlTaskRepository
from sqlalchemy import Engine, create_engine, text

from tests.support.protocol import KiB, create, merge, missing, set_state, upload

BLOCK = 64 * KiB


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    # The sweeper thread stays idle: the tests apply retention themselves, deterministically.
    return settings.replace(sweep_interval_seconds=3600.0)


def _serve(settings: Settings) -> Iterator[tuple[FerryServer, rpc.FerryServiceStub]]:
    server = create_server(settings)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            yield server, rpc.FerryServiceStub(channel)
    finally:
        server.stop(0)


@pytest.fixture
def replica(quiet_settings: Settings) -> Iterator[tuple[FerryServer, rpc.FerryServiceStub]]:
    yield from _serve(quiet_settings)


@pytest.fixture
def sql(quiet_settings: Settings) -> Iterator[Engine]:
    engine = create_engine(quiet_settings.resolved_database_url)
    yield engine
    engine.dispose()


def block_rows(sql: Engine, task_id: str) -> int:
    with sql.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM ferry_blocks WHERE task_id = :t"), {"t": task_id}
            ).scalar_one()
        )


def test_ended_tasks_lose_their_block_rows_and_keep_their_figures(
    replica: tuple[FerryServer, rpc.FerryServiceStub], sql: Engine
) -> None:
    server, stub = replica
    data = os.urandom(4 * BLOCK)
    done = create(stub, data, "kept/done.bin", block_size=BLOCK)
    upload(stub, done, data)
    merge(stub, done.task_id)
    canceled = create(stub, data, "kept/canceled.bin", block_size=BLOCK)
    upload(stub, canceled, data, [0, 2])
    set_state(stub, canceled.task_id, pb.TASK_STATE_CANCELED)
    active = create(stub, data, "kept/active.bin", block_size=BLOCK)
    upload(stub, active, data, [1])

    rows, tasks = server.service.apply_retention()

    assert (rows, tasks) == (6, 0)
    assert block_rows(sql, done.task_id) == 0
    assert block_rows(sql, canceled.task_id) == 0
    assert block_rows(sql, active.task_id) == 1, "an active task's blocks are never purged"
    done_now = stub.GetTask(pb.GetTaskRequest(task_id=done.task_id)).task
    assert done_now.state == pb.TASK_STATE_COMPLETED
    assert done_now.committed_bytes == len(data)
    assert missing(stub, done.task_id) == []
    canceled_now = stub.GetTask(pb.GetTaskRequest(task_id=canceled.task_id)).task
    assert canceled_now.committed_bytes == 2 * BLOCK, "frozen before the rows went"
    assert missing(stub, active.task_id) == [(0, 1), (2, 4)]
    assert server.service.apply_retention() == (0, 0), "nothing is purged twice"


def test_a_huge_ended_task_is_purged_in_bounded_batches(
    replica: tuple[FerryServer, rpc.FerryServiceStub], sql: Engine
) -> None:
    _server, stub = replica
    data = os.urandom(BLOCK)
    task = create(stub, data, "huge/task.bin", block_size=BLOCK)
    upload(stub, task, data)
    # Rows as a task of 25,001 blocks would have: more than one batch of the purge.
    now = datetime.now(UTC)
    with sql.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ferry_blocks (task_id, block_index, length, crc32c, committed_at) "
                "VALUES (:t, :i, 1, 0, :now)"
            ),
            [{"t": task.task_id, "i": i, "now": now} for i in range(1, 25_001)],
        )
    set_state(stub, task.task_id, pb.TASK_STATE_CANCELED)
    repository = SqlTaskRepository(sql)

    deleted = [repository.purge_ended_blocks(tasks=10, rows=10_000) for _ in range(4)]

    assert deleted == [10_000, 10_000, 5_001, 0]
    assert block_rows(sql, task.task_id) == 0
    ended = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    assert ended.committed_bytes == BLOCK + 25_000


def test_ended_tasks_are_forgotten_after_the_retention_and_active_ones_never(
    quiet_settings: Settings,
) -> None:
    for server, stub in _serve(quiet_settings.replace(retention_seconds=0.2)):
        data = os.urandom(2 * BLOCK)
        done = create(stub, data, "forgotten/done.bin", block_size=BLOCK)
        upload(stub, done, data)
        merge(stub, done.task_id)
        paused = create(stub, data, "forgotten/paused.bin", block_size=BLOCK)
        set_state(stub, paused.task_id, pb.TASK_STATE_PAUSED)
        time.sleep(0.5)

        # The first pass purges the block rows; the row itself goes once they are gone.
        first = server.service.apply_retention()
        second = server.service.apply_retention()

        assert first[0] == 2
        assert first[1] + second[1] == 1
        with pytest.raises(grpc.RpcError) as gone:
            stub.GetTask(pb.GetTaskRequest(task_id=done.task_id))
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
        assert stub.GetTask(pb.GetTaskRequest(task_id=paused.task_id)).task.state == (
            pb.TASK_STATE_PAUSED
        )
        published = quiet_settings.resolved_storage_root / "forgotten/done.bin"
        assert published.read_bytes() == data, "retention forgets tasks, never files"


@pytest.mark.parametrize(("umask", "mode"), [(None, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_published_files_get_the_configured_mode(
    quiet_settings: Settings, umask: int | None, mode: int
) -> None:
    settings = quiet_settings if umask is None else quiet_settings.replace(published_umask=umask)
    for _server, stub in _serve(settings):
        data = os.urandom(3 * BLOCK)
        task = create(stub, data, "modes/big.bin", block_size=BLOCK)
        upload(stub, task, data)
        merge(stub, task.task_id)
        small = stub.UploadFile(
            pb.UploadFileRequest(
                file_name="small.bin",
                store_path="modes/small.bin",
                data=b"hi",
                crc32c=google_crc32c.value(b"hi"),
            )
        )
        assert small.task.state == pb.TASK_STATE_COMPLETED
        root = settings.resolved_storage_root
        for name in ("big.bin", "small.bin"):
            assert stat.S_IMODE((root / "modes" / name).stat().st_mode) == mode
