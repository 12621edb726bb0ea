"""The Python client's public API raises exceptions carrying the server's reason and details,
and decides retries by them: a program branches on ``exc.reason``, never on the message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry_client import (
    AlreadyExists,
    FerryClient,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    RetryPolicy,
    TaskPaused,
    TransientError,
)
from ferry_client.state import Remembered, StateFile, UploadKey
from ferry_server.app import FerryServer

from tests.support.client_tools import QUICK_RETRY, MiB, make_file, run_ferry
from tests.support.disk import file_size_limit
from tests.support.protocol import KiB, create


@pytest.fixture
def client(server: FerryServer, tmp_path: Path) -> Iterator[FerryClient]:
    with FerryClient(server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY) as c:
        yield c


def test_an_unknown_task(client: FerryClient) -> None:
    with pytest.raises(NotFound) as excinfo:
        client.status("0" * 32)
    assert (excinfo.value.reason, excinfo.value.domain) == ("TASK_NOT_FOUND", "ferry.v1")
    assert excinfo.value.code == grpc.StatusCode.NOT_FOUND


def test_a_store_path_with_a_backslash(client: FerryClient, tmp_path: Path) -> None:
    source = make_file(tmp_path / "small.bin", 100)
    with pytest.raises(InvalidRequest) as excinfo:
        client.upload(source, "dir\\file.bin")
    assert excinfo.value.reason == "INVALID_STORE_PATH"
    assert [v.field for v in excinfo.value.field_violations] == ["store_path"]
    assert "backslash" in excinfo.value.field_violations[0].description


def test_a_block_size_outside_the_bounds(
    server: FerryServer, client: FerryClient, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "large.bin", 2 * MiB)
    with pytest.raises(InvalidRequest) as excinfo:
        client.upload(source, "large.bin", block_size=100 * KiB)
    assert excinfo.value.reason == "INVALID_BLOCK_SIZE"
    assert excinfo.value.metadata["minBlockSizeBytes"] == str(server.settings.min_block_size)
    assert excinfo.value.metadata["blockAlignmentBytes"] == str(64 * KiB)


def test_a_store_path_another_task_holds(
    server: FerryServer, stub, client: FerryClient, tmp_path: Path
) -> None:
    holder = create(stub, os.urandom(2 * MiB), "held.bin", sha256="")
    source = make_file(tmp_path / "other.bin", 2 * MiB)
    with pytest.raises(AlreadyExists) as excinfo:
        client.upload(source, "held.bin")
    assert excinfo.value.reason == "STORE_PATH_TAKEN"
    assert excinfo.value.metadata["taskId"] == holder.task_id
    assert excinfo.value.task_id == holder.task_id


def test_a_published_file_in_the_way(
    server: FerryServer, client: FerryClient, tmp_path: Path
) -> None:
    (server.settings.resolved_storage_root / "there.bin").write_bytes(b"keep me")
    source = make_file(tmp_path / "small.bin", 100)
    with pytest.raises(AlreadyExists) as excinfo:
        client.upload(source, "there.bin")
    assert excinfo.value.reason == "DESTINATION_EXISTS"
    assert "(ALREADY_EXISTS: DESTINATION_EXISTS)" in str(excinfo.value)


def test_an_illegal_transition(stub, client: FerryClient) -> None:
    task = create(stub, b"x" * 100, "t.bin")
    client.cancel(task.task_id)
    with pytest.raises(PreconditionFailed) as excinfo:
        client.pause(task.task_id)
    assert excinfo.value.reason == "ILLEGAL_TRANSITION"
    assert excinfo.value.metadata == {
        "taskId": task.task_id,
        "state": "CANCELED",
        "targetState": "PAUSED",
    }


def test_disk_full_is_not_retried_sooner_than_the_server_advises(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "large.bin", 16 * MiB)
    impatient = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_retry_delay=1.0)
    with (
        FerryClient(server.address, state_file=tmp_path / "state.json", retry=impatient) as c,
        file_size_limit(8 * MiB),
        pytest.raises(TransientError) as excinfo,
    ):
        c.upload(source, "big.bin")
    assert excinfo.value.reason == "DISK_FULL"
    assert excinfo.value.retry_delay is not None and excinfo.value.retry_delay > 1.0
    # Nothing is preallocated: the full disk is met writing the blocks' assembly.
    assert int(excinfo.value.metadata["requestedBytes"]) > 0
    # Given up at the first answer: waiting 30 s is more than this policy allows.
    assert "gave up after 1 consecutive failed attempts" in excinfo.value.message


def test_a_paused_task_found_from_its_state_has_the_reason_too(
    stub, client: FerryClient, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "large.bin", 2 * MiB)
    task = create(stub, source.read_bytes(), "paused.bin", sha256="")
    stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED))
    assert client.state_file is not None
    key = UploadKey.for_file(source, "paused.bin")
    StateFile(client.state_file).remember(key, Remembered(task.task_id, ""))

    with pytest.raises(TaskPaused) as excinfo:
        client.upload(source, "paused.bin")

    # No status said it (GetTask did): the exception reads as the server's TASK_PAUSED would.
    assert (excinfo.value.reason, excinfo.value.domain) == ("TASK_PAUSED", "ferry.v1")
    assert excinfo.value.metadata == {"taskId": task.task_id, "state": "PAUSED"}


def test_the_command_line_error_names_the_reason(server: FerryServer) -> None:
    done = run_ferry(["status", "0" * 32, "--server", server.address])
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("ferry: error: no task with id")
    assert line.endswith("(NOT_FOUND: TASK_NOT_FOUND)")
