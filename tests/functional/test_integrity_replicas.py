"""Acknowledged and published mean immutable across replicas, and Merge survives a crash or a
stall of the replica merging (issue 7). Two ``ferry serve`` processes share one data directory
and one database (SQLite file or PostgreSQL schema).

After each scenario the published bytes equal the source and the recorded SHA-256 is theirs.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from tests.support.client_tools import BackgroundCall, wait_until
from tests.support.processes import ServerProcess
from tests.support.protocol import KiB, block_messages, create, merge, upload
from tests.support.streams import HeldStream, other_bytes_messages

#: Short, so that a crashed merger's lease goes stale within the test.
LEASE = "1"

Replicas = Callable[..., tuple[ServerProcess, ServerProcess]]


@pytest.fixture
def start_replicas(tmp_path: Path, database_url: str | None) -> Iterator[Replicas]:
    started: list[ServerProcess] = []

    def start(a_args: list[str] | None = None) -> tuple[ServerProcess, ServerProcess]:
        data_dir = tmp_path / "shared-data"
        common = ["--merge-lease", LEASE] if a_args else []
        a = ServerProcess(data_dir, database_url=database_url, name="replica-a",
                          extra_args=common + (a_args or []))  # fmt: skip
        b = ServerProcess(data_dir, database_url=database_url, name="replica-b",
                          extra_args=common)  # fmt: skip
        for process in (a, b):
            process.start()
            started.append(process)
        return a, b

    yield start
    for process in started:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.send_signal(signal.SIGCONT)
        process.kill()
    for process in started:
        assert "Traceback" not in process.log_path.read_text()


def published_path(tmp_path: Path, store_path: str) -> Path:
    return tmp_path / "shared-data" / "files" / store_path


def assert_published(tmp_path: Path, store_path: str, data: bytes, task: pb.Task) -> None:
    published = published_path(tmp_path, store_path).read_bytes()
    assert published == data
    assert task.state == pb.TASK_STATE_COMPLETED
    assert task.sha256 == hashlib.sha256(published).hexdigest()


def handles_on(process: ServerProcess, path: Path) -> list[str]:
    """The file descriptors ``process`` holds on ``path``."""
    assert process.proc is not None
    fds = Path(f"/proc/{process.proc.pid}/fd")
    target = str(path.resolve())
    found = []
    for fd in fds.iterdir():
        try:
            if str(fd.readlink()) == target:
                found.append(fd.name)
        except FileNotFoundError:
            continue
    return found


@pytest.mark.parametrize("declared", [True, False], ids=["sha256", "no-sha256"])
def test_other_bytes_through_another_replica_never_reach_the_file(
    start_replicas: Replicas, tmp_path: Path, declared: bool
):
    """Interleaved with the honest upload, then a late writer finishing after Merge said OK."""
    a, b = start_replicas()
    data = os.urandom(4 * 128 * KiB)
    with grpc.insecure_channel(a.address) as ca, grpc.insecure_channel(b.address) as cb:
        sa, sb = rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)
        task = create(sa, data, "shared/x.bin", block_size=128 * KiB,
                      sha256=None if declared else "")  # fmt: skip
        interleaved = other_bytes_messages(task, 1, 128 * KiB, chunk=32 * KiB, seed=1)
        late = other_bytes_messages(task, 2, 128 * KiB, chunk=32 * KiB, seed=2)
        early, slow = HeldStream(sb), HeldStream(sb)
        early.send(*interleaved[:2])
        slow.send(*late[:2])
        honest = HeldStream(sa)
        honest.send(*block_messages(task, data, 1, chunk=32 * KiB))
        assert honest.ack().status == pb.BLOCK_STATUS_COMMITTED
        early.send(*interleaved[2:])
        assert early.ack().status == pb.BLOCK_STATUS_COMMITTED_DIFFERENT
        assert early.finish() == []
        honest.send(*block_messages(task, data, 0), *block_messages(task, data, 2))
        honest.send(*block_messages(task, data, 3))
        assert [honest.ack().status for _ in range(3)] == [pb.BLOCK_STATUS_COMMITTED] * 3
        assert honest.finish() == []
        done = sa.Merge(pb.MergeRequest(
            task_id=task.task_id, sha256="" if declared else hashlib.sha256(data).hexdigest()
        )).task  # fmt: skip
        assert_published(tmp_path, "shared/x.bin", data, done)
        before = published_path(tmp_path, "shared/x.bin").stat()
        # The late writer finishes its block after Merge answered OK.
        slow.send(*late[2:])
        with pytest.raises(grpc.RpcError) as excinfo:
            slow.ack()
        assert excinfo.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "COMPLETED" in excinfo.value.details()
        assert_published(tmp_path, "shared/x.bin", data, done)
        after = published_path(tmp_path, "shared/x.bin").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
        for process in (a, b):
            assert handles_on(process, published_path(tmp_path, "shared/x.bin")) == []


@pytest.mark.parametrize("point", ["merge-before-publish", "merge-after-publish"])
def test_a_merge_killed_on_one_replica_is_completed_by_the_other(
    start_replicas: Replicas, tmp_path: Path, point: str
):
    a, b = start_replicas([f"--test-fault={point}:kill"])
    data = os.urandom(6 * 128 * KiB + 3)
    with grpc.insecure_channel(a.address) as ca, grpc.insecure_channel(b.address) as cb:
        sa, sb = rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)
        task = create(sb, data, "shared/killed.bin", block_size=128 * KiB)
        upload(sb, task, data)
        with pytest.raises(grpc.RpcError) as excinfo:
            merge(sa, task.task_id)
        assert excinfo.value.code() == grpc.StatusCode.UNAVAILABLE
        assert a.proc is not None
        assert a.proc.wait(30) == -signal.SIGKILL
        # The lease is 1 s: the other replica's Merge waits for it to go stale and takes over.
        done = merge(sb, task.task_id)
        assert_published(tmp_path, "shared/killed.bin", data, done)
        assert handles_on(b, published_path(tmp_path, "shared/killed.bin")) == []
    if point == "merge-before-publish":
        # A's assembled merge file was still staged: B removed it before publishing its own.
        assert "took over its merge" in b.log_path.read_text()


def test_a_merge_that_outlasts_its_lease_is_fenced_off(start_replicas: Replicas, tmp_path: Path):
    """Replica A stops (SIGSTOP) inside Merge, after assembling, just before publishing; B takes
    the merge over and publishes; when A wakes it can neither publish nor answer OK for a task
    that is not COMPLETED."""
    a, b = start_replicas(["--test-fault=merge-before-publish:stop"])
    data = os.urandom(6 * 128 * KiB + 3)
    target = published_path(tmp_path, "shared/stalled.bin")
    with grpc.insecure_channel(a.address) as ca, grpc.insecure_channel(b.address) as cb:
        sa, sb = rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)
        task = create(sb, data, "shared/stalled.bin", block_size=128 * KiB)
        upload(sb, task, data)
        stalled = BackgroundCall(lambda: merge(sa, task.task_id))
        wait_until(
            lambda: "test fault: merge-before-publish reached" in a.log_path.read_text(),
            "replica A to stop inside Merge",
        )
        assert a.proc is not None
        wait_until(lambda: _stopped(a.proc.pid), "replica A to be stopped")
        done = merge(sb, task.task_id)
        assert_published(tmp_path, "shared/stalled.bin", data, done)
        before = target.stat()
        a.proc.send_signal(signal.SIGCONT)
        try:
            answer = stalled.result()
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.ABORTED, exc.details()
        else:
            assert answer.state == pb.TASK_STATE_COMPLETED
            assert answer.sha256 == done.sha256
        assert_published(tmp_path, "shared/stalled.bin", data, done)
        after = target.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
        for process in (a, b):
            assert handles_on(process, target) == []
        # A's merge file was fenced off and the task's staging is gone.
        assert not (tmp_path / "shared-data" / "staging" / task.task_id).exists()


def _stopped(pid: int) -> bool:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0] == "T"
