"""What an upload tells and leaves behind: its events (the task id before any block is sent,
then progress, retries and the outcome), the ``ferry`` command's task line and
``--json-events``, no orphan task when the client gives up on a task it owns (the file changed,
a permanent error, Ctrl-C with ``--cancel-on-interrupt``), and resuming through another address
of the same service."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import (
    FerryClient,
    InvalidRequest,
    SourceChanged,
    TaskPaused,
    TaskState,
    UploadEvent,
)
from ferry_client.state import Remembered, StateFile, UploadKey
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    Gate,
    KiB,
    MiB,
    ferry_command,
    make_file,
    published,
    run_ferry,
    sha256_of,
    wait_until,
)
from tests.support.proxy import FaultyProxy

BLOCK = 64 * KiB
LARGE = UPLOAD_FILE_MAX_SIZE + 8 * BLOCK


@pytest.fixture
def client(server: FerryServer, tmp_path: Path) -> Iterator[FerryClient]:
    # One block in flight a stream: upload_until_paused counts on it.
    with FerryClient(
        server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY, blocks_in_flight=1
    ) as c:
        yield c


def task_state(stub: rpc.FerryServiceStub, task_id: str) -> TaskState:
    return TaskState.from_pb(stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task.state)


def remembered_entries(state_file: Path) -> list[dict[str, Any]]:
    if not state_file.exists():
        return []
    entries: list[dict[str, Any]] = json.loads(state_file.read_text())["uploads"]
    return entries


# -- events ------------------------------------------------------------------------------------


def test_events_name_the_task_before_any_block_is_sent_then_the_result(
    client: FerryClient, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    seen: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            seen.append(("progress", done))

    def on_event(event: UploadEvent) -> None:
        with lock:
            seen.append(("event", event))

    result = client.upload(
        source, "events.bin", block_size=BLOCK, progress=progress, on_event=on_event
    )

    events = [e for kind, e in seen if kind == "event"]
    kinds = [e.kind for e in events]
    assert kinds[0] == "created" and kinds[-1] == "completed"
    assert set(kinds) <= {"created", "progress", "retrying", "completed"}
    created = events[0]
    assert (created.task_id, created.resumed, created.total) == (result.task_id, False, LARGE)
    assert created.path == str(source) and created.store_path == "events.bin"
    # Before the first byte counted as sent, the id was known.
    first_bytes = next(n for n, (kind, v) in enumerate(seen) if kind == "progress" and v > 0)
    assert seen.index(("event", created)) < first_bytes
    assert events[-1].result == result
    assert events[-2].kind == "progress" and events[-2].done == LARGE
    # Rate-limited: far fewer progress events than progress calls.
    assert kinds.count("progress") < sum(1 for kind, _ in seen if kind == "progress")


def test_a_cut_connection_is_retried_with_a_retrying_event(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    events: list[UploadEvent] = []
    with (
        FaultyProxy(server.address, cut_after=4 * BLOCK, cuts=1) as proxy,
        FerryClient(proxy.address, state_file=tmp_path / "s.json", retry=QUICK_RETRY) as client,
    ):
        result = client.upload(source, "cut.bin", block_size=BLOCK, on_event=events.append)
    retrying = [e for e in events if e.kind == "retrying"]
    assert retrying and result.retries == len(retrying)
    assert all(e.task_id == result.task_id and e.delay is not None for e in retrying)
    assert "UNAVAILABLE" in (retrying[0].message or "")
    assert events[-1].kind == "completed"


def test_a_failure_ends_the_events_with_failed(client: FerryClient, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", 10)
    events: list[UploadEvent] = []
    with pytest.raises(InvalidRequest):
        client.upload(source, "../escape.bin", on_event=events.append)
    assert [e.kind for e in events] == ["failed"]
    assert events[0].code == "INVALID_ARGUMENT" and events[0].reason
    assert events[0].task_cancelled is False


def test_command_prints_the_task_line_and_json_events(server: FerryServer, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    completed = run_ferry(
        ["upload", str(source), "cli.bin", "--server", server.address, "--block-size", "64K",
         "--state-file", str(tmp_path / "s.json"), "--json-events"]
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    events = [json.loads(line) for line in completed.stdout.splitlines()]
    assert events[0]["event"] == "created"
    task_id = events[0]["task_id"]
    assert events[-1]["event"] == "completed"
    assert events[-1]["result"]["task_id"] == task_id
    assert events[-1]["result"]["sha256"] == sha256_of(source)
    assert {e["event"] for e in events} <= {"created", "progress", "retrying", "completed"}
    assert (
        f"task {task_id} (pause: ferry pause {task_id} --server {server.address}; "
        f"cancel: ferry cancel {task_id} --server {server.address})"
    ) in completed.stderr


# -- no orphans --------------------------------------------------------------------------------


def test_file_changed_mid_upload_cancels_its_task_and_the_next_run_starts_cleanly(
    client: FerryClient, stub: rpc.FerryServiceStub, server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    events: list[UploadEvent] = []
    changed = threading.Event()

    def change_once(done: int, _total: int) -> None:
        if done >= 2 * BLOCK and not changed.is_set():
            changed.set()
            with source.open("ab") as f:
                f.write(b"more")

    with pytest.raises(SourceChanged) as caught:
        client.upload(
            source, "changing.bin", block_size=BLOCK, progress=change_once, on_event=events.append
        )
    task_id = events[0].task_id
    assert task_id is not None
    assert f"task {task_id} was cancelled, so changing.bin is free again" in caught.value.message
    assert task_state(stub, task_id) == TaskState.CANCELED
    assert events[-1].kind == "failed" and events[-1].task_cancelled is True
    assert remembered_entries(tmp_path / "state.json") == []

    again = client.upload(source, "changing.bin", block_size=BLOCK)
    assert again.task_id != task_id and not again.resumed
    assert sha256_of(published(server.settings.data_dir, "changing.bin")) == sha256_of(source)


class BlockOutOfRange(grpc.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    """Sends block 1 as block 10000: a request the server refuses for good (OUT_OF_RANGE)."""

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        def requests() -> Iterator[bytes]:
            for raw in request_iterator:
                request = pb.UploadPartsRequest.FromString(raw)
                if request.block_index != 1:
                    yield raw
                    continue
                request.block_index = 10_000
                yield request.SerializeToString()

        return continuation(client_call_details, requests())


def test_a_permanent_error_cancels_the_task_this_upload_created(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    events: list[UploadEvent] = []
    with (
        FerryClient(
            server.address,
            state_file=tmp_path / "state.json",
            retry=QUICK_RETRY,
            interceptors=[BlockOutOfRange()],
        ) as client,
        pytest.raises(InvalidRequest) as caught,
    ):
        client.upload(source, "refused.bin", block_size=BLOCK, on_event=events.append)
    task_id = events[0].task_id
    assert task_id is not None
    assert caught.value.reason == "BLOCK_OUT_OF_RANGE"
    assert f"task {task_id} was cancelled, so refused.bin is free again" in caught.value.message
    assert task_state(stub, task_id) == TaskState.CANCELED
    assert remembered_entries(tmp_path / "state.json") == []


def upload_until_paused(client: FerryClient, source: Path, store_path: str) -> str:
    """Upload ``source`` until a few blocks are done, pause its task from the side, and return
    the task id once the upload raised TaskPaused. Progress counts the blocks in flight (at
    most one a stream with ``blocks_in_flight=1``, two streams), so at four blocks done at least
    two are committed."""
    gate = Gate(4 * BLOCK)
    events: list[UploadEvent] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            client.upload(
                source, store_path, block_size=BLOCK, progress=gate, on_event=events.append
            )
        except BaseException as exc:
            failure.append(exc)

    call = threading.Thread(target=run, daemon=True)
    call.start()
    gate.wait_reached()
    task_id = events[0].task_id
    assert task_id is not None
    client.pause(task_id)
    gate.release()
    call.join(LIVENESS_TIMEOUT)
    assert len(failure) == 1 and isinstance(failure[0], TaskPaused), failure
    return task_id


def test_a_paused_task_is_left_alone(
    client: FerryClient, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    task_id = upload_until_paused(client, source, "paused.bin")
    assert task_state(stub, task_id) == TaskState.PAUSED
    assert [e["task_id"] for e in remembered_entries(tmp_path / "state.json")] == [task_id]


def test_the_task_remembered_for_an_older_version_of_the_file_is_cancelled(
    client: FerryClient, stub: rpc.FerryServiceStub, server: FerryServer, tmp_path: Path
) -> None:
    # An earlier run created a task and died; the file changed since. That task holds the
    # store_path and can never finish: the next run cancels it and starts cleanly.
    source = make_file(tmp_path / "src.bin", LARGE)
    created = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="src.bin", size=LARGE, store_path="stale.bin", block_size=BLOCK
        )
    )
    old_task = created.task.task_id
    assert client.state_file is not None
    StateFile(client.state_file).remember(
        UploadKey.for_file(source, "stale.bin"), Remembered(old_task, "")
    )
    make_file(source, LARGE + 1, seed=1)

    result = client.upload(source, "stale.bin", block_size=BLOCK)

    assert task_state(stub, old_task) == TaskState.CANCELED
    assert result.task_id != old_task
    assert sha256_of(published(server.settings.data_dir, "stale.bin")) == sha256_of(source)
    assert remembered_entries(client.state_file) == []


def test_a_task_this_run_did_not_create_is_not_cancelled(
    client: FerryClient, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    # Someone else's task for the same store_path, declared with another file's hash: this
    # upload fails (ALREADY_EXISTS) and must not cancel it.
    source = make_file(tmp_path / "src.bin", LARGE)
    other = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="other.bin", size=LARGE, sha256="ab" * 32, store_path="theirs.bin"
        )
    ).task.task_id
    with pytest.raises(Exception, match="already"):
        client.upload(source, "theirs.bin", block_size=BLOCK)
    assert task_state(stub, other) == TaskState.UPLOADING


@pytest.mark.parametrize("cancel", [True, False], ids=["cancel-on-interrupt", "default"])
def test_ctrl_c(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path, cancel: bool
) -> None:
    source = make_file(tmp_path / "src.bin", 2 * MiB)
    # A slow link, so the process is surely mid-upload when it is interrupted.
    with FaultyProxy(server.address, rate=256 * KiB) as proxy:
        args = [
            "upload", str(source), "interrupted.bin", "--server", proxy.address,
            "--block-size", "64K", "--state-file", str(tmp_path / "s.json"), "--json-events",
            *(["--cancel-on-interrupt"] if cancel else []),
        ]  # fmt: skip
        process = subprocess.Popen(
            ferry_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout is not None
            created = json.loads(process.stdout.readline())
            assert created["event"] == "created"
            task_id = created["task_id"]

            def committed() -> int:
                return int(stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task.committed_bytes)

            wait_until(lambda: committed() >= BLOCK, "a block committed")
            process.send_signal(signal.SIGINT)
            rest, stderr = process.communicate(timeout=LIVENESS_TIMEOUT)
        finally:
            process.kill()
    assert process.returncode == 130
    failed = json.loads(rest.splitlines()[-1])
    assert failed["event"] == "failed" and failed["message"] == "interrupted"
    if cancel:
        assert failed["task_cancelled"] is True
        assert task_state(stub, task_id) == TaskState.CANCELED
        assert (
            f"interrupted; task {task_id} was cancelled, so interrupted.bin is free again" in stderr
        )
        assert remembered_entries(tmp_path / "s.json") == []
    else:
        assert failed["task_cancelled"] is False
        assert task_state(stub, task_id) == TaskState.UPLOADING
        assert "interrupted; run the same command again to resume" in stderr
        assert [e["task_id"] for e in remembered_entries(tmp_path / "s.json")] == [task_id]


# -- the state file is keyed by the upload, not by the address -------------------------------


def test_an_upload_interrupted_through_one_address_resumes_through_another(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", LARGE)
    state_file = tmp_path / "state.json"
    with (
        FaultyProxy(server.address) as proxy,
        FerryClient(
            proxy.address, state_file=state_file, retry=QUICK_RETRY, blocks_in_flight=1
        ) as first,
    ):
        task_id = upload_until_paused(first, source, "moved.bin")
    stub.SetState(pb.SetStateRequest(task_id=task_id, state=pb.TASK_STATE_UPLOADING))

    with FerryClient(server.address, state_file=state_file, retry=QUICK_RETRY) as second:
        result = second.upload(source, "moved.bin", block_size=BLOCK)

    assert result.task_id == task_id
    assert result.resumed and result.committed_at_start > 0
    assert sha256_of(published(server.settings.data_dir, "moved.bin")) == sha256_of(source)
