"""WatchTask (issue 11): a task's changes streamed as they happen, through any replica, until
it ends."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_client.models import TaskInfo, TaskState
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings

from tests.support.client_tools import ferry_command
from tests.support.databases import fresh_postgres_schema
from tests.support.processes import two_replicas
from tests.support.protocol import KiB, create, merge, set_state, upload

BLOCK = 64 * KiB


@pytest.fixture
def watched_server(settings: Settings) -> Iterator[FerryServer]:
    server = create_server(settings.replace(watch_interval_seconds=0.05))
    server.start()
    yield server
    server.stop(0)


class Watcher:
    """Follows a task with the real client in a thread, keeping every change seen."""

    def __init__(self, address: str, task_id: str) -> None:
        self.seen: list[TaskInfo] = []
        self.first = threading.Event()
        self._client = FerryClient(address, remember_uploads=False)
        self._thread = threading.Thread(target=self._run, args=(task_id,), daemon=True)
        self._thread.start()
        assert self.first.wait(30), "no first change"

    def _run(self, task_id: str) -> None:
        for info in self._client.watch(task_id):
            self.seen.append(info)
            self.first.set()

    def finish(self) -> list[TaskInfo]:
        self._thread.join(30)
        assert not self._thread.is_alive(), "the watch did not end with the task"
        self._client.close()
        return self.seen


def test_a_watch_sees_the_upload_and_ends_with_the_task(watched_server: FerryServer) -> None:
    data = os.urandom(4 * BLOCK)
    with grpc.insecure_channel(watched_server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "watch/one.bin", block_size=BLOCK)
        watcher = Watcher(watched_server.address, task.task_id)
        for index in range(task.block_count):
            upload(stub, task, data, [index])
        merge(stub, task.task_id)

        seen = watcher.finish()

    assert seen[0].state == TaskState.UPLOADING and seen[0].committed_bytes == 0
    assert seen[-1].state == TaskState.COMPLETED
    assert [s.state for s in seen].count(TaskState.COMPLETED) == 1
    committed = [s.committed_bytes for s in seen]
    assert committed == sorted(committed), "committed bytes never go back"
    assert len({(s.state, s.committed_bytes) for s in seen}) == len(seen), "no change twice"


def test_a_watch_of_an_ended_task_answers_once_and_ends(watched_server: FerryServer) -> None:
    with grpc.insecure_channel(watched_server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, b"x" * 10, "watch/canceled.bin", block_size=BLOCK)
        set_state(stub, task.task_id, pb.TASK_STATE_CANCELED)

        replies = list(stub.WatchTask(pb.WatchTaskRequest(task_id=task.task_id), timeout=30))
        with pytest.raises(grpc.RpcError) as unknown:
            list(stub.WatchTask(pb.WatchTaskRequest(task_id="0" * 32), timeout=30))
        with pytest.raises(grpc.RpcError) as empty:
            list(stub.WatchTask(pb.WatchTaskRequest(task_id=""), timeout=30))

    assert [r.task.state for r in replies] == [pb.TASK_STATE_CANCELED]
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_watch_through_one_replica_sees_changes_made_through_another(tmp_path: Path) -> None:
    data = os.urandom(3 * BLOCK)
    args = ["--watch-interval", "0.05"]
    with (
        fresh_postgres_schema() as url,
        two_replicas(tmp_path / "data", url, args) as (a, b),
        grpc.insecure_channel(b.address) as channel,
    ):
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "watch/replicas.bin", block_size=BLOCK)
        watcher = Watcher(a.address, task.task_id)
        set_state(stub, task.task_id, pb.TASK_STATE_PAUSED)
        set_state(stub, task.task_id, pb.TASK_STATE_UPLOADING)
        upload(stub, task, data)
        merge(stub, task.task_id)

        seen = watcher.finish()

    states = [s.state for s in seen]
    assert states[0] == TaskState.UPLOADING
    assert states[-1] == TaskState.COMPLETED
    assert seen[-1].committed_bytes == len(data)


def test_ferry_watch_follows_a_task_on_the_command_line(watched_server: FerryServer) -> None:
    data = os.urandom(2 * BLOCK)
    with grpc.insecure_channel(watched_server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "watch/cli.bin", block_size=BLOCK)
        follower = subprocess.Popen(
            ferry_command(["watch", task.task_id, "--server", watched_server.address, "--json"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follower.stdout is not None
        first = follower.stdout.readline()  # the task as it is: the watch is running
        upload(stub, task, data)
        merge(stub, task.task_id)
        rest, errors = follower.communicate(timeout=60)

    assert follower.returncode == 0, errors
    assert '"state": "UPLOADING"' in first
    assert '"state": "COMPLETED"' in rest.splitlines()[-1]


def test_bytes_that_are_no_request_are_invalid_argument(watched_server: FerryServer) -> None:
    with grpc.insecure_channel(watched_server.address) as channel:
        call = channel.unary_stream(
            "/ferry.v1.FerryService/WatchTask",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as refused:
            list(call(b"\xff\xff", timeout=30))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
