"""The client library and the ``ferry`` command against a real server: round trips, task
commands, the state file, and permanent errors surfacing with the server's message.

Files here are larger than UPLOAD_FILE_MAX_SIZE, so they travel in blocks, unless a test says
otherwise; small files sent whole are the subject of ``test_client_small_files``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import (
    AlreadyExists,
    FerryClient,
    InvalidRequest,
    NotFound,
    TaskState,
)
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    QUICK_RETRY,
    KiB,
    MiB,
    make_file,
    published,
    run_ferry,
    sha256_of,
)

BLOCK = 64 * KiB
#: The smallest file that goes in blocks.
LARGE = UPLOAD_FILE_MAX_SIZE + 1


@pytest.fixture
def client(server: FerryServer, tmp_path: Path) -> Iterator[FerryClient]:
    with FerryClient(server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY) as c:
        yield c


@pytest.mark.parametrize(
    "size",
    [LARGE, UPLOAD_FILE_MAX_SIZE + BLOCK, UPLOAD_FILE_MAX_SIZE + 5 * BLOCK + 1234],
    ids=["one-byte-in-the-last-block", "whole-blocks", "many-blocks-short-last"],
)
def test_library_round_trip_publishes_identical_file(
    client: FerryClient, server: FerryServer, tmp_path: Path, size: int
) -> None:
    source = make_file(tmp_path / "src.bin", size, seed=size)
    seen: list[tuple[int, int]] = []

    result = client.upload(
        source,
        "in/file.bin",
        block_size=BLOCK,
        metadata={"owner": "tests"},
        progress=lambda done, total: seen.append((done, total)),
    )

    target = published(server.settings.data_dir, "in/file.bin")
    assert target.read_bytes() == source.read_bytes()
    assert result.sha256 == sha256_of(source) == sha256_of(target)
    assert (result.size, result.store_path) == (size, "in/file.bin")
    assert result.block_count == -(-size // BLOCK)
    assert result.metadata == {"owner": "tests"}
    assert result.bytes_sent == size and result.bytes_resent == 0
    assert result.hashed_bytes == size
    assert seen[-1] == (size, size)
    assert client.status(result.task_id).state is TaskState.COMPLETED


def test_parallel_streams_split_the_blocks_and_progress_reaches_total(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * MiB + 17)
    seen: list[tuple[int, int]] = []

    result = client.upload(
        source,
        "par.bin",
        block_size=BLOCK,
        parallelism=4,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert sha256_of(published(server.settings.data_dir, "par.bin")) == sha256_of(source)
    assert result.blocks_sent == result.block_count == 49
    assert all(0 <= done <= total == source.stat().st_size for done, total in seen)
    assert seen[-1] == (source.stat().st_size, source.stat().st_size)


def test_upload_with_messages_smaller_than_blocks(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    # 2 MiB blocks travel as two 1 MiB messages each; the last block is short.
    source = make_file(tmp_path / "src.bin", 5 * MiB + 3)

    result = client.upload(source, "big-blocks.bin", block_size=2 * MiB)

    assert result.block_count == 3
    assert sha256_of(published(server.settings.data_dir, "big-blocks.bin")) == sha256_of(source)


def test_state_file_forgets_completed_uploads_and_the_same_upload_again_conflicts(
    client: FerryClient, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE + BLOCK)
    client.upload(source, "once.bin", block_size=BLOCK)
    assert client.state_file is not None
    assert json.loads(client.state_file.read_text())["uploads"] == []

    with pytest.raises(AlreadyExists) as caught:
        client.upload(source, "once.bin", block_size=BLOCK)
    assert "already exists" in caught.value.message

    again = client.upload(source, "once.bin", block_size=BLOCK, overwrite=True)
    assert again.sha256 == sha256_of(source)


def test_hostile_store_path_is_rejected_with_the_servers_message(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    for hostile in ("../outside.bin", "/etc/passwd", "a/../../b", "bad\x00name"):
        with pytest.raises(InvalidRequest) as caught:
            client.upload(source, hostile)
        assert caught.value.code is not None and caught.value.code.name == "INVALID_ARGUMENT"
        assert "store_path" in caught.value.message
    assert not any(published(server.settings.data_dir, "").iterdir())


def test_file_over_the_servers_maximum_is_rejected_with_its_message(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as f:  # sparse: costs no disk, hashes fast
        f.truncate(server.settings.max_file_size + 1)

    with pytest.raises(InvalidRequest) as caught:
        client.upload(huge, "huge.bin")

    assert caught.value.code is not None and caught.value.code.name == "OUT_OF_RANGE"
    assert "maximum file size" in caught.value.message


def test_unknown_task_is_not_found_with_the_servers_message(client: FerryClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.status("0" * 32)
    assert "no task" in caught.value.message
    assert caught.value.task_id == "0" * 32


def test_cli_round_trip_prints_json_result(server: FerryServer, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", UPLOAD_FILE_MAX_SIZE + 3 * BLOCK + 5)
    completed = run_ferry(
        [
            "upload", str(source), "cli/file.bin",
            "--server", server.address,
            "--block-size", "64K",
            "--parallelism", "3",
            "--meta", "k=v=w",
            "--state-file", str(tmp_path / "state.json"),
            "--json",
        ]
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["sha256"] == sha256_of(source)
    assert result["metadata"] == {"k": "v=w"}
    assert result["block_count"] == UPLOAD_FILE_MAX_SIZE // BLOCK + 4
    assert published(server.settings.data_dir, "cli/file.bin").read_bytes() == source.read_bytes()
    # Not a terminal: progress comes as plain lines, never as a redrawn bar.
    assert "uploading:" in completed.stderr and "\r" not in completed.stderr


@pytest.mark.parametrize("size", [0, 1, BLOCK], ids=["empty", "one-byte", "exactly-one-block"])
def test_cli_round_trip_human_output_and_server_from_environment(
    server: FerryServer, tmp_path: Path, size: int
) -> None:
    source = make_file(tmp_path / "tiny.bin", size)
    completed = run_ferry(
        [
            "upload",
            str(source),
            "tiny.bin",
            "--block-size",
            "64K",
            "-q",
            "--state-file",
            str(tmp_path / "s.json"),
        ],
        env={"FERRY_SERVER": server.address},
    )

    assert completed.returncode == 0, completed.stderr
    assert f"published tiny.bin: {size} bytes, sha256 {sha256_of(source)}" in completed.stdout
    assert completed.stderr == ""
    assert published(server.settings.data_dir, "tiny.bin").read_bytes() == source.read_bytes()


def test_cli_task_commands_pause_resume_status_cancel(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    # A task declared exactly as `ferry upload` would declare it, with no block sent yet.
    source = make_file(tmp_path / "src.bin", 4 * BLOCK)
    task_id = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name=source.name,
            size=source.stat().st_size,
            sha256=sha256_of(source),
            store_path="cmds.bin",
            block_size=BLOCK,
        )
    ).task.task_id
    common = ["--server", server.address]

    paused = run_ferry(["pause", task_id, *common])
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == f"task {task_id} is PAUSED"

    status = run_ferry(["status", task_id, *common, "--json"])
    document = json.loads(status.stdout)
    assert (document["task_id"], document["state"], document["size"]) == (
        task_id,
        "PAUSED",
        4 * BLOCK,
    )

    # A small file: UploadFile meets the paused task, so the client turns to CreateTask, which
    # resumes that task and finds it paused.
    upload = run_ferry(
        ["upload", str(source), "cmds.bin", *common, "--state-file", str(tmp_path / "s.json")]
    )
    assert upload.returncode == 3
    assert upload.stderr.strip().splitlines()[-1].startswith("ferry: error: task")
    assert "PAUSED" in upload.stderr

    resumed = run_ferry(["resume", task_id, *common])
    assert resumed.stdout.strip() == f"task {task_id} is UPLOADING"
    human = run_ferry(["status", task_id, *common])
    assert "state     UPLOADING" in human.stdout

    canceled = run_ferry(["cancel", task_id, *common, "--json"])
    assert json.loads(canceled.stdout)["state"] == "CANCELED"


def test_cli_errors_are_one_line_with_nonzero_exit(server: FerryServer, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", 10)
    bad_path = run_ferry(
        ["upload", str(source), "../x", "--server", server.address, "-q",
         "--state-file", str(tmp_path / "s.json")]
    )  # fmt: skip
    missing_file = run_ferry(["upload", str(tmp_path / "nope"), "x", "--server", server.address])
    unknown_task = run_ferry(["status", "f" * 32, "--server", server.address])

    for completed, needle in (
        (bad_path, "not normalised"),
        (missing_file, "No such file"),
        (unknown_task, "no task with id"),
    ):
        assert completed.returncode == 1
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ferry: error: ")
        assert needle in lines[0]


def test_cli_serve_dispatches_to_the_server_command() -> None:
    completed = run_ferry(["serve", "--help"])
    assert completed.returncode == 0
    assert completed.stdout.startswith("usage: ferry serve")
