"""Quotas and reservations on real servers and both databases: a principal's active tasks,
declared bytes and open streams, counted in SQL so that two replicas cannot both pass a
limit; declarations that allocate nothing on disk (a 1 TiB one on a 64 MiB filesystem), and the
free-disk reserve that neither declarations nor blocks may eat into."""

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
from ferry_client import FerryClient, QuotaExceeded, TransientError
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, MiB, Settings, TiB

from tests.support.client_tools import make_file, run_ferry
from tests.support.protocol import block_messages, create, upload

EXIT_ERROR = 1


def _reason(error: grpc.RpcError) -> tuple[grpc.StatusCode, dict[str, str]]:
    """The status code and ErrorInfo metadata (with the reason) of a failed call."""
    from google.rpc import error_details_pb2  # noqa: PLC0415
    from grpc_status import rpc_status  # noqa: PLC0415

    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            return error.code(), {"reason": info.reason, **dict(info.metadata)}
    raise AssertionError("no ErrorInfo")


def _refused(call: object) -> tuple[grpc.StatusCode, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return _reason(caught.value)


def _declare(stub: rpc.FerryServiceStub, size: int, store_path: str, sha256: str = "") -> pb.Task:
    """Declare a task of ``size`` bytes (no bytes need to exist for it)."""
    return stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="f", size=size, store_path=store_path, block_size=64 * KiB, sha256=sha256
        )
    ).task


@pytest.fixture
def started(settings: Settings) -> Iterator[list[FerryServer]]:
    """Servers a test starts (``_start``), stopped at its end (before fixtures requested
    earlier, such as ``small_disk``, are torn down)."""
    servers: list[FerryServer] = []
    yield servers
    for server in servers:
        server.stop(grace=0)


def _start(servers: list[FerryServer], settings: Settings) -> FerryServer:
    server = create_server(settings)
    server.start()
    servers.append(server)
    return server


def test_active_tasks_and_declared_bytes_per_principal(
    settings: Settings, started: list[FerryServer], tmp_path: Path
) -> None:
    server = _start(started, settings.replace(quota_active_tasks=2, quota_staged_bytes=1 * MiB))
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        first = _declare(stub, 512 * KiB, "q/first", sha256="a" * 64)
        code, facts = _refused(lambda: _declare(stub, 768 * KiB, "q/too-big"))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert facts == {"reason": "QUOTA_EXCEEDED", "limit": "staged_bytes",
                         "limitValue": str(MiB)}  # fmt: skip
        _declare(stub, 256 * KiB, "q/second")
        code, facts = _refused(lambda: _declare(stub, 1, "q/third"))
        assert facts["limit"] == "active_tasks"
        assert facts["limitValue"] == "2"
        # A resumed declaration is no new task: it is not refused.
        assert _declare(stub, 512 * KiB, "q/first", sha256="a" * 64).task_id == first.task_id
        # Cancelling one frees its place and its bytes.
        stub.SetState(pb.SetStateRequest(task_id=first.task_id, state=pb.TASK_STATE_CANCELED))
        _declare(stub, 768 * KiB, "q/third")
    # The client does not retry it, and the command says so with exit status 1.
    source = make_file(tmp_path / "big.bin", 2 * MiB)
    with (
        FerryClient(server.address, remember_uploads=False) as client,
        pytest.raises(QuotaExceeded) as caught,
    ):
        client.upload(source, "q/client.bin")
    assert not isinstance(caught.value, TransientError)
    assert "--quota-active-tasks" in caught.value.message
    completed = run_ferry(
        ["upload", str(source), "q/cli.bin", "--server", server.address, "--quiet",
         "--state-file", str(tmp_path / "state.json")]
    )  # fmt: skip
    assert completed.returncode == EXIT_ERROR, completed.stderr
    assert "--quota-active-tasks" in completed.stderr


def test_two_replicas_cannot_both_pass_the_limit(
    settings: Settings, started: list[FerryServer]
) -> None:
    limit = 3
    limited = settings.replace(quota_active_tasks=limit)
    replicas = [_start(started, limited), _start(started, limited)]
    channels = [grpc.insecure_channel(r.address) for r in replicas]
    stubs = [rpc.FerryServiceStub(c) for c in channels]
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def declare(n: int) -> None:
        barrier.wait()
        try:
            _declare(stubs[n % 2], 1000, f"race/{n}")
            outcomes.append("created")
        except grpc.RpcError as exc:
            outcomes.append(_reason(exc)[1]["reason"])

    threads = [threading.Thread(target=declare, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for channel in channels:
        channel.close()
    assert sorted(outcomes) == ["QUOTA_EXCEEDED"] * (12 - limit) + ["created"] * limit


class _HeldStream:
    """An UploadParts stream that sent one whole block (so the server counted it) and stays
    open until ``close()``."""

    def __init__(self, stub: rpc.FerryServiceStub, task: pb.Task, data: bytes) -> None:
        self._release = threading.Event()
        messages = block_messages(task, data, 0)

        def requests() -> Iterator[pb.UploadPartsRequest]:
            yield from messages
            self._release.wait()

        self._call = stub.UploadParts(requests())
        self.first = next(self._call)

    def close(self) -> None:
        self._release.set()
        list(self._call)


def test_streams_per_principal_across_replicas(
    settings: Settings, started: list[FerryServer]
) -> None:
    limited = settings.replace(quota_streams=2)
    a, b = _start(started, limited), _start(started, limited)
    data = os.urandom(64 * KiB)
    with grpc.insecure_channel(a.address) as ca, grpc.insecure_channel(b.address) as cb:
        stub_a, stub_b = rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)
        task = create(stub_a, data, "streams/file.bin", block_size=64 * KiB)
        held = [_HeldStream(stub_a, task, data), _HeldStream(stub_b, task, data)]
        for stub in (stub_a, stub_b):
            code, facts = _refused(lambda s=stub: list(s.UploadParts(iter(
                block_messages(task, data, 0)))))  # fmt: skip
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert facts["limit"] == "streams"
        held.pop().close()
        # One ended on B: a new one fits, on either replica.
        upload(stub_a, task, data, [0])


def test_a_dead_replicas_streams_expire(
    settings: Settings, started: list[FerryServer], tmp_path: Path
) -> None:
    from tests.support.client_tools import wait_until  # noqa: PLC0415
    from tests.support.processes import ServerProcess  # noqa: PLC0415

    limited = settings.replace(quota_streams=1, stream_heartbeat_seconds=0.2)
    survivor = _start(started, limited)
    data = os.urandom(64 * KiB)
    with (
        ServerProcess(
            settings.data_dir,
            database_url=settings.database_url,
            extra_args=["--quota-streams", "1", "--stream-heartbeat", "0.2"],
        ) as doomed,
        grpc.insecure_channel(doomed.address) as channel,
    ):
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "dead/file.bin", block_size=64 * KiB)
        _HeldStream(stub, task, data)
        doomed.kill()
    with grpc.insecure_channel(survivor.address) as channel:
        stub = rpc.FerryServiceStub(channel)

        def stream_fits() -> bool:
            try:
                upload(stub, task, data, [0])
            except grpc.RpcError as exc:
                assert _reason(exc)[1]["limit"] == "streams"
                return False
            return True

        wait_until(stream_fits, "the killed replica's stream count expired")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs mounted for this test (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _free(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def test_a_1_tib_declaration_allocates_nothing(
    settings: Settings, small_disk: Path, started: list[FerryServer]
) -> None:
    on_small = settings.replace(data_dir=small_disk / "data", max_file_size=2 * TiB)
    # Overcommitted a million times over, 64 MiB may promise 1 TiB: it must not be allocated.
    server = _start(started, on_small.replace(disk_overcommit=2.0**20))
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        before = _free(small_disk)
        task = _declare(stub, TiB, "huge.bin")
        after = _free(small_disk)
        assert before - after < MiB, (before, after)
        assert task.block_count == TiB // (64 * KiB)
        # Blocks take their own space as they arrive, and only theirs.
        block = os.urandom(64 * KiB)
        list(stub.UploadParts(iter(block_messages(task, block, 0))))
        assert before - _free(small_disk) < 2 * MiB
    server.stop(grace=0)
    started.remove(server)
    # Without overcommit the same declaration is refused at once, naming the disk.
    server = _start(started, on_small)
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        code, facts = _refused(lambda: _declare(stub, TiB, "huge-2.bin"))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert facts["reason"] == "QUOTA_EXCEEDED"
    assert facts["limit"] == "disk"


def test_the_free_disk_reserve_holds(
    settings: Settings, small_disk: Path, started: list[FerryServer]
) -> None:
    reserve = 40 * MiB
    server = _start(
        started, settings.replace(data_dir=small_disk / "data", disk_reserve_bytes=reserve)
    )
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        # 64 MiB less the reserve leaves about 24 MiB: one task of 8 MiB (16 staged) fits...
        data = os.urandom(8 * MiB)
        task = create(stub, data, "reserve/one.bin", block_size=MiB)
        # ...a second one would need 16 more than the 24: DISK_FULL while the first is active.
        code, facts = _refused(lambda: _declare(stub, 8 * MiB, "reserve/two.bin"))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert facts["reason"] == "DISK_FULL"
        # Something else fills the disk down to the reserve: blocks are refused, not written
        # into it.
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * (_free(small_disk) - reserve - 512 * KiB))
        code, facts = _refused(lambda: upload(stub, task, data, [0]))
        assert facts["reason"] == "DISK_FULL"
        assert _free(small_disk) >= reserve
        # Room again: the block is taken.
        filler.unlink()
        upload(stub, task, data, [0])
