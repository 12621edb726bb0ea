"""Work for a call whose deadline has passed stops: the call's deadline travels with its
blocking work (domain.calls), which checks it before every SQL transaction and while Merge
waits for another replica's merge; nothing is recorded past it.

These run the real domain of a real server (SQLite and PostgreSQL) inside a ``Call``, as the
transport does for every RPC, and through the wire where the client can see the outcome.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer
from ferry_server.domain.calls import Call, calling
from ferry_server.domain.errors import CallEnded
from ferry_server.domain.service import TaskSpec
from ferry_server.persistence.database import create_database_engine
from ferry_server.persistence.repository import SqlTaskRepository

from tests.support.protocol import KiB, create, upload

BLOCK = 64 * KiB


def _spec(store_path: str) -> TaskSpec:
    return TaskSpec(
        file_name="late.bin",
        size=BLOCK,
        sha256="",
        store_path=store_path,
        metadata={},
        block_size=BLOCK,
        overwrite=False,
    )


def test_work_whose_deadline_passed_before_it_reached_sql_records_nothing(
    server: FerryServer,
) -> None:
    late = Call("CreateTask", deadline=time.monotonic() - 1)
    with calling(late), pytest.raises(CallEnded) as caught:
        server.service.create_task(_spec("late/never.bin"))
    assert "deadline passed" in caught.value.message
    cancelled = Call("CreateTask", deadline=None)
    cancelled.cancel()
    with calling(cancelled), pytest.raises(CallEnded):
        server.service.create_task(_spec("late/cancelled.bin"))
    # Neither left a task behind: the same paths are free for a call in time.
    for path in ("late/never.bin", "late/cancelled.bin"):
        task, resumed = server.service.create_task(_spec(path))
        assert (task.store_path, resumed) == (path, False)


def test_a_merge_waiting_for_another_replicas_merge_stops_at_its_deadline(
    server: FerryServer, stub: rpc.FerryServiceStub
) -> None:
    data = os.urandom(2 * BLOCK)
    task = create(stub, data, "late/merge.bin", block_size=BLOCK)
    upload(stub, task, data, [0, 1])
    # Another replica holds the task's merge lease, for longer than any wait here.
    engine = create_database_engine(server.settings.resolved_database_url, fsync=False, pool_size=1)
    try:
        now = datetime.now(UTC)
        assert SqlTaskRepository(engine).acquire_merge_lease(
            task.task_id, "another-replica", now, now + timedelta(seconds=600)
        )
    finally:
        engine.dispose()

    # Asked to wait 60 s, the blocking work stops at the call's deadline instead.
    with calling(Call("Merge", deadline=time.monotonic() + 0.5)), pytest.raises(CallEnded):
        server.service.merge(task.task_id, wait_seconds=60)

    # Through the wire: the call ends with a code the client retries, never INTERNAL.
    with pytest.raises(grpc.RpcError) as caught:
        stub.Merge(pb.MergeRequest(task_id=task.task_id), timeout=1.5)
    assert caught.value.code() in {  # type: ignore[attr-defined]
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
    }
    assert stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state == (
        pb.TASK_STATE_UPLOADING
    )
