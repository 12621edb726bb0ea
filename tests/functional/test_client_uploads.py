"""The client library and the ``ferry`` command against a real server: round trips, hashing
while uploading (the hash given at Merge), how an upload starts or continues a task (by the
file's hash, by a remembered id, after a lost CreateTask reply), a different file behind a
remembered task, task commands, the state file, and permanent errors surfacing with the
server's message.

Files here are larger than UPLOAD_FILE_MAX_SIZE, so they travel in blocks, unless a test says
otherwise; small files sent whole are the subject of ``test_client_small_files``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import (
    AlreadyExists,
    FerryClient,
    IntegrityError,
    InvalidRequest,
    NotFound,
    SourceChanged,
    TaskPaused,
    TaskState,
)
from ferry_client.hashing import HASH_CHUNK
from ferry_client.state import Remembered, StateFile, UploadKey
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    BackgroundCall,
    Gate,
    KiB,
    LoseFirstReply,
    MiB,
    make_file,
    published,
    run_ferry,
    sha256_of,
)
from tests.support.protocol import create, upload

BLOCK = 64 * KiB
#: The smallest file that goes in blocks.
LARGE = UPLOAD_FILE_MAX_SIZE + 1


class RequestLog(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Records every unary request the client sends, as (method name, request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, Any]] = []
        #: Set once a CreateTask call has been answered (with a task or an error).
        self.create_answered = threading.Event()

    def of(self, method: str) -> list[Any]:
        with self._lock:
            return [request for name, request in self.requests if name == method]

    @property
    def methods(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.requests]

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append((method, request))
        outcome = continuation(details, request)
        if method == "CreateTask":
            outcome.exception()  # waits for the answer
            self.create_answered.set()
        return outcome


@pytest.fixture
def requests() -> RequestLog:
    return RequestLog()


@pytest.fixture
def client(server: FerryServer, tmp_path: Path, requests: RequestLog) -> Iterator[FerryClient]:
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        retry=QUICK_RETRY,
        interceptors=[requests],
    ) as c:
        yield c


def hashing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ferry-hash"]


def remember(client: FerryClient, source: Path, store_path: str, task_id: str, sha256: str) -> None:
    """Make the client's state file say what an earlier run would have left for ``source``."""
    assert client.state_file is not None
    key = UploadKey.for_file(source, store_path)
    StateFile(client.state_file).remember(key, Remembered(task_id, sha256))


def remembered_uploads(client: FerryClient) -> list[dict[str, Any]]:
    assert client.state_file is not None
    uploads: list[dict[str, Any]] = json.loads(client.state_file.read_text())["uploads"]
    return uploads


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


def test_fresh_upload_declares_no_hash_and_gives_it_at_merge(
    client: FerryClient, server: FerryServer, requests: RequestLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * MiB + 5)
    size, sha256 = source.stat().st_size, sha256_of(source)
    hashed: list[tuple[int, int]] = []

    result = client.upload(
        source,
        "late-hash.bin",
        block_size=BLOCK,
        hash_progress=lambda done, total: hashed.append((done, total)),
    )

    [declared] = requests.of("CreateTask")
    [merged] = requests.of("Merge")
    assert declared.sha256 == "" and declared.size == size
    assert (merged.task_id, merged.sha256) == (result.task_id, sha256)
    assert "GetTask" not in requests.methods  # nothing remembered: nothing to look up
    assert (result.sha256, result.hashed_bytes, result.resumed) == (sha256, size, False)
    assert hashed[-1] == (size, size) and len(hashed) == -(-size // HASH_CHUNK)
    assert published(server.settings.data_dir, "late-hash.bin").read_bytes() == source.read_bytes()
    assert remembered_uploads(client) == []
    assert hashing_threads() == []


def test_task_holding_the_store_path_for_this_file_is_resumed_by_its_hash(
    client: FerryClient,
    server: FerryServer,
    stub: rpc.FerryServiceStub,
    requests: RequestLog,
    tmp_path: Path,
) -> None:
    # As an older client, which declared the hash, leaves an interrupted upload.
    source = make_file(tmp_path / "src.bin", LARGE + 4 * BLOCK)
    data, sha256 = source.read_bytes(), sha256_of(source)
    held = create(stub, data, "held.bin", block_size=BLOCK)
    upload(stub, held, data, range(5))

    result = client.upload(source, "held.bin", block_size=BLOCK)

    # The declaration without a hash meets the task; the one with the hash resumes it.
    assert [r.sha256 for r in requests.of("CreateTask")] == ["", sha256]
    assert [r.sha256 for r in requests.of("Merge")] == [sha256]
    assert (result.task_id, result.resumed) == (held.task_id, True)
    assert result.committed_at_start == 5 * BLOCK
    assert result.bytes_sent == len(data) - 5 * BLOCK
    assert result.hashed_bytes == len(data)
    assert published(server.settings.data_dir, "held.bin").read_bytes() == data


def test_lost_create_task_reply_is_answered_by_the_task_it_created(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE + BLOCK)
    lose, requests = LoseFirstReply("CreateTask", pb.CreateTaskResponse), RequestLog()
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        retry=QUICK_RETRY,
        interceptors=[requests, lose],
    ) as client:
        result = client.upload(source, "lost-reply.bin", block_size=BLOCK)
        others = client.status(result.task_id)
    lose.close()

    assert lose.answered is not None
    # The retry meets the task the first attempt created, which is exactly what it declared.
    assert result.task_id == lose.answered.task.task_id
    assert result.retries == 1 and not result.resumed
    assert requests.methods[:3] == ["CreateTask", "CreateTask", "GetTask"]
    assert [r.sha256 for r in requests.of("CreateTask")] == ["", ""]
    assert others.state is TaskState.COMPLETED
    assert published(server.settings.data_dir, "lost-reply.bin").read_bytes() == (
        source.read_bytes()
    )


def test_remembered_task_that_ended_is_forgotten_and_the_upload_starts_over(
    client: FerryClient,
    server: FerryServer,
    stub: rpc.FerryServiceStub,
    requests: RequestLog,
    tmp_path: Path,
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE + BLOCK)
    data, sha256 = source.read_bytes(), sha256_of(source)
    ended = create(stub, data, "over.bin", block_size=BLOCK, sha256="")
    stub.SetState(pb.SetStateRequest(task_id=ended.task_id, state=pb.TASK_STATE_CANCELED))
    remember(client, source, "over.bin", ended.task_id, sha256)

    result = client.upload(source, "over.bin", block_size=BLOCK)

    assert result.task_id != ended.task_id and not result.resumed
    # The remembered hash is the file's: no hashing, and the new task is declared with it.
    assert result.hashed_bytes == 0
    assert requests.methods[:2] == ["GetTask", "CreateTask"]
    assert [r.sha256 for r in requests.of("CreateTask")] == [sha256]
    assert published(server.settings.data_dir, "over.bin").read_bytes() == data
    assert remembered_uploads(client) == []


def test_remembered_task_paused_stops_at_once_and_stays_remembered(
    client: FerryClient, stub: rpc.FerryServiceStub, requests: RequestLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE + BLOCK)
    task = create(stub, source.read_bytes(), "paused.bin", block_size=BLOCK, sha256="")
    stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED))
    remember(client, source, "paused.bin", task.task_id, "")

    with pytest.raises(TaskPaused) as caught:
        client.upload(source, "paused.bin", block_size=BLOCK)

    assert caught.value.task_id == task.task_id
    assert requests.methods == ["GetTask"]
    assert [e["task_id"] for e in remembered_uploads(client)] == [task.task_id]
    assert hashing_threads() == []


def test_remembered_task_that_published_this_file_answers_with_its_result(
    client: FerryClient, server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    # A first run whose Merge succeeded, killed before it could forget the upload.
    source = make_file(tmp_path / "src.bin", LARGE + BLOCK)
    data, sha256 = source.read_bytes(), sha256_of(source)
    task = create(stub, data, "done.bin", block_size=BLOCK, sha256="")
    upload(stub, task, data)
    stub.Merge(pb.MergeRequest(task_id=task.task_id, sha256=sha256))
    remember(client, source, "done.bin", task.task_id, sha256)

    result = client.upload(source, "done.bin", block_size=BLOCK)

    assert (result.task_id, result.resumed, result.sha256) == (task.task_id, True, sha256)
    assert (result.bytes_sent, result.hashed_bytes) == (0, 0)
    assert published(server.settings.data_dir, "done.bin").read_bytes() == data
    assert remembered_uploads(client) == []


@pytest.mark.parametrize("hash_remembered", [False, True], ids=["hash-unfinished", "hash-known"])
def test_different_file_behind_a_remembered_task_fails_at_merge(
    client: FerryClient,
    server: FerryServer,
    stub: rpc.FerryServiceStub,
    tmp_path: Path,
    hash_remembered: bool,
) -> None:
    # A first run sent half of one file; then another file of the same size took its place
    # with the same mtime (copied with it kept), so the state file takes it for the same.
    source = make_file(tmp_path / "src.bin", LARGE + 3 * BLOCK, seed=1)
    first = source.read_bytes()
    task = create(stub, first, "swapped.bin", block_size=BLOCK, sha256="")
    upload(stub, task, first, range(task.block_count // 2))
    mtime = source.stat().st_mtime_ns
    remember(client, source, "swapped.bin", task.task_id, sha256_of(source) * hash_remembered)
    make_file(source, len(first), seed=2)
    os.utime(source, ns=(mtime, mtime))

    with pytest.raises(IntegrityError) as caught:
        client.upload(source, "swapped.bin", block_size=BLOCK)

    assert caught.value.code == grpc.StatusCode.DATA_LOSS
    assert caught.value.task_id == task.task_id
    assert client.status(task.task_id).state is TaskState.FAILED
    assert not published(server.settings.data_dir, "swapped.bin").exists()
    assert remembered_uploads(client) == []


def test_error_on_the_hashing_thread_surfaces_from_upload(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * MiB)

    def unreadable(_done: int, _total: int) -> None:
        raise OSError("cannot read the disk")

    with pytest.raises(OSError, match="cannot read the disk"):
        client.upload(source, "unread.bin", block_size=BLOCK, hash_progress=unreadable)

    assert hashing_threads() == []
    assert not published(server.settings.data_dir, "unread.bin").exists()


def test_file_changed_while_hashed_raises_source_changed_and_is_forgotten(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * MiB)

    def touch(_done: int, _total: int) -> None:
        mtime = source.stat().st_mtime_ns + 1_000_000_000
        os.utime(source, ns=(mtime, mtime))

    with pytest.raises(SourceChanged):
        client.upload(source, "changed.bin", block_size=BLOCK, hash_progress=touch)

    assert hashing_threads() == []
    assert remembered_uploads(client) == []
    assert not published(server.settings.data_dir, "changed.bin").exists()


def test_hashing_stops_when_the_upload_is_refused(
    client: FerryClient, requests: RequestLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 4 * HASH_CHUNK)
    # Holds the hash after its first chunk until CreateTask was refused.
    gate = Gate(threshold=0)

    call = BackgroundCall(lambda: client.upload(source, "../refused.bin", hash_progress=gate))
    gate.wait_reached()
    assert requests.create_answered.wait(LIVENESS_TIMEOUT)
    gate.release()

    with pytest.raises(InvalidRequest):
        call.result()
    assert gate.calls == [(HASH_CHUNK, 4 * HASH_CHUNK)]  # it stopped after the chunk it held
    assert hashing_threads() == []


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
