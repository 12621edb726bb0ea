"""The client recovering on its own: a killed server, cut connections, a corrupted block, a
killed or interrupted client process (after its hash was done, or before); and stopping when
another client pauses or cancels."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import (
    FerryClient,
    RetryPolicy,
    ServerUnreachable,
    TaskEnded,
    TaskPaused,
    TaskState,
    TransientError,
)
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    BackgroundCall,
    CorruptOnce,
    Gate,
    KiB,
    MiB,
    ferry_command,
    json_output,
    make_file,
    published,
    run_ferry,
    sha256_of,
    wait_until,
)
from tests.support.processes import ServerProcess
from tests.support.proxy import FaultyProxy

BLOCK = 64 * KiB
#: Each stream's sliding window here: what a crash or a cut may cost each stream to send again.
WINDOW = 2 * BLOCK


def test_server_killed_mid_upload_and_restarted_upload_completes_by_itself(
    tmp_path: Path, database_url: str | None
) -> None:
    server = ServerProcess(tmp_path / "data", database_url=database_url)
    server.start()
    try:
        source = make_file(tmp_path / "src.bin", 4 * MiB + 99)
        gate = Gate(threshold=source.stat().st_size // 3)
        with FerryClient(
            server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY,
            max_window=WINDOW,
        ) as client:  # fmt: skip
            call = BackgroundCall(
                lambda: client.upload(
                    source, "killed.bin", block_size=BLOCK, parallelism=2, progress=gate
                )
            )
            gate.wait_reached()
            server.kill()
            gate.release()
            time.sleep(0.3)  # the client meets a dead server before it comes back
            server.start()
            result = call.result()

        assert sha256_of(published(tmp_path / "data", "killed.bin")) == sha256_of(source)
        assert result.retries >= 1
        # Each stream's window of unacknowledged bytes at most: that is all a crash can cost.
        assert 0 <= result.bytes_resent <= 2 * WINDOW
    finally:
        server.kill()


def test_connection_cut_several_times_upload_completes_intact(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * MiB + 1)
    with (
        FaultyProxy(server.address, cut_after=700 * KiB, cuts=3) as proxy,
        FerryClient(
            proxy.address,
            state_file=tmp_path / "state.json",
            retry=QUICK_RETRY,
            max_window=WINDOW,
        ) as c,  # fmt: skip
    ):
        result = c.upload(source, "cut.bin", block_size=BLOCK, parallelism=2)

    assert proxy.cuts_done == 3
    assert proxy.connections >= 4
    assert result.retries >= 3
    # Each failure costs at most the window of unacknowledged bytes of each of the 2 streams.
    assert result.bytes_resent <= result.retries * 2 * WINDOW
    assert sha256_of(published(server.settings.data_dir, "cut.bin")) == sha256_of(source)


def test_block_corrupted_in_transit_is_rejected_and_sent_again(
    server: FerryServer, tmp_path: Path
) -> None:
    # Larger than UPLOAD_FILE_MAX_SIZE: it travels in blocks.
    source = make_file(tmp_path / "src.bin", 24 * BLOCK + 3)
    corrupt = CorruptOnce(block_index=2)
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        retry=QUICK_RETRY,
        interceptors=[corrupt],
    ) as client:
        result = client.upload(source, "corrupt.bin", block_size=BLOCK)

    assert corrupt.corrupted == 1
    assert result.checksum_mismatches == 1
    assert result.bytes_sent == source.stat().st_size + BLOCK  # block 2, twice
    assert sha256_of(published(server.settings.data_dir, "corrupt.bin")) == sha256_of(source)


def test_pause_from_second_client_stops_upload_and_upload_after_resume_finishes(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 2 * MiB)
    size = source.stat().st_size
    state_file = tmp_path / "state.json"
    gate = Gate(threshold=size // 3)
    with (
        FerryClient(server.address, state_file=state_file, retry=QUICK_RETRY) as uploader,
        FerryClient(server.address, remember_uploads=False) as other,
    ):
        call = BackgroundCall(
            lambda: uploader.upload(source, "paused.bin", block_size=BLOCK, progress=gate)
        )
        gate.wait_reached()
        task_id = _active_task(state_file)
        # The file is hashed while it uploads: the resume below must find the hash remembered.
        wait_until(lambda: _remembered_hash(state_file) == sha256_of(source), "the hash")
        at_pause = other.pause(task_id).committed_bytes
        gate.release()

        with pytest.raises(TaskPaused) as caught:
            call.result()
        assert caught.value.task_id == task_id
        stopped = other.status(task_id)
        assert stopped.state is TaskState.PAUSED
        # Promptly: within one block per stream of the pause.
        assert at_pause <= stopped.committed_bytes <= at_pause + 2 * BLOCK < size
        assert _remembered_task(state_file) == task_id  # kept for the resume

        other.resume(task_id)
        result = uploader.upload(source, "paused.bin", block_size=BLOCK)

    assert result.task_id == task_id and result.resumed
    assert result.hashed_bytes == 0
    assert result.committed_at_start == stopped.committed_bytes
    # Only the missing blocks travel; a retry (ABORTED while the server lets go of the streams
    # it just lost) may cost one block per stream again.
    assert result.bytes_resent <= result.retries * 2 * BLOCK
    assert result.bytes_sent >= size - stopped.committed_bytes
    assert sha256_of(published(server.settings.data_dir, "paused.bin")) == sha256_of(source)


def test_cancel_from_second_client_ends_the_upload(server: FerryServer, tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", 2 * MiB)
    state_file = tmp_path / "state.json"
    gate = Gate(threshold=source.stat().st_size // 4)
    with (
        FerryClient(server.address, state_file=state_file, retry=QUICK_RETRY) as uploader,
        FerryClient(server.address, remember_uploads=False) as other,
    ):
        call = BackgroundCall(
            lambda: uploader.upload(source, "canceled.bin", block_size=BLOCK, progress=gate)
        )
        gate.wait_reached()
        task_id = _active_task(state_file)
        other.cancel(task_id)
        gate.release()

        with pytest.raises(TaskEnded) as caught:
            call.result()
        assert caught.value.state == "CANCELED"
        assert other.status(task_id).state is TaskState.CANCELED

    assert json.loads(state_file.read_text())["uploads"] == []
    assert not published(server.settings.data_dir, "canceled.bin").exists()


def test_a_server_never_reached_is_not_retried_but_named_with_the_reason(tmp_path: Path) -> None:
    # Before the first contact a refused connection says "nothing is there" (the retry policy
    # is for a server lost after the client talked to it); still a TransientError: later may
    # help.
    source = make_file(tmp_path / "src.bin", 10)
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_attempts=3)
    # Port 1 on loopback: nothing listens there, connections are refused at once.
    with (
        FerryClient("127.0.0.1:1", remember_uploads=False, retry=policy) as client,
        pytest.raises(ServerUnreachable) as caught,
    ):
        client.upload(source, "x.bin")
    assert isinstance(caught.value, TransientError)
    assert caught.value.message == (
        "cannot connect to a Ferry server at 127.0.0.1:1: connection refused (is the server "
        "running?)"
    )


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_client_process_stopped_mid_upload_resumes_same_task_without_hashing(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path, how: str
) -> None:
    source = make_file(tmp_path / "src.bin", 2 * MiB)
    size = source.stat().st_size
    state_file = tmp_path / "state.json"
    # A slow link, so the process is surely mid-upload when it is stopped.
    with FaultyProxy(server.address, rate=512 * KiB) as proxy:
        args = [
            "upload", str(source), "resumed.bin",
            "--server", proxy.address,
            "--block-size", "64K",
            "--state-file", str(state_file),
            "--json",
        ]  # fmt: skip
        first = subprocess.Popen(
            ferry_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_until(lambda: state_file.exists() and _remembered_task(state_file) is not None,
                       "the task in the state file")  # fmt: skip
            task_id = _remembered_task(state_file)
            assert task_id is not None

            def committed() -> int:
                request = pb.GetTaskRequest(task_id=task_id)
                return int(stub.GetTask(request).task.committed_bytes)

            wait_until(lambda: committed() >= 4 * BLOCK, "some blocks committed")
            # Hashed while it uploads: stop it only once the state file holds the hash.
            wait_until(lambda: _remembered_hash(state_file) == sha256_of(source), "the hash")
            first.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGINT)
            _, stderr = first.communicate(timeout=LIVENESS_TIMEOUT)
        finally:
            first.kill()
        if how == "SIGKILL":
            assert first.returncode == -signal.SIGKILL
        else:
            assert first.returncode == 130
            assert "interrupted; run the same command again to resume" in stderr
        before = committed()
        assert before < size

        proxy.set_rate(None)
        result = json_output(run_ferry(args))

    assert result["task_id"] == task_id
    assert result["resumed"] is True
    assert result["hashed_bytes"] == 0  # the SHA-256 came from the state file
    assert result["committed_at_start"] >= before > 0
    # Only the missing blocks travel; a retry (ABORTED while the server notices the killed
    # client's streams are gone) may cost one block per stream again.
    assert result["bytes_sent"] >= size - result["committed_at_start"]
    assert result["bytes_resent"] <= result["retries"] * 2 * BLOCK
    assert _remembered_task(state_file) is None
    assert sha256_of(published(server.settings.data_dir, "resumed.bin")) == sha256_of(source)


#: A first run of an upload, in a process of its own, that never finishes hashing (its
#: hash_progress blocks at the first chunk) and holds its upload once HOLD_AT bytes are done.
#: Arguments: TARGET FILE STORE_PATH STATE_FILE BLOCK_SIZE HOLD_AT.
_NEVER_DONE_HASHING = """
import sys, threading
from ferry_client import FerryClient

target, path, store_path, state_file, block_size, hold_at = sys.argv[1:]
forever = threading.Event()

def hashing(done, total):
    forever.wait()

def sending(done, total):
    if done >= int(hold_at):
        forever.wait()

with FerryClient(target, state_file=state_file) as client:
    client.upload(path, store_path, block_size=int(block_size), progress=sending,
                  hash_progress=hashing)
"""


def test_client_killed_before_its_hash_was_done_continues_the_task_by_id_and_hashes_again(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 4 * MiB + 7)
    size = source.stat().st_size
    state_file = tmp_path / "state.json"
    first = subprocess.Popen(
        [sys.executable, "-c", _NEVER_DONE_HASHING, server.address, str(source),
         "unhashed.bin", str(state_file), str(BLOCK), str(size // 2)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until(lambda: state_file.exists() and _remembered(state_file) is not None,
                   "the task in the state file")  # fmt: skip
        entry = _remembered(state_file)
        assert entry is not None and entry["sha256"] == ""  # the hash is never done
        task_id = str(entry["task_id"])

        def committed() -> int:
            return int(stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task.committed_bytes)

        wait_until(lambda: committed() >= 4 * BLOCK, "some blocks committed")
        first.kill()
        first.communicate(timeout=LIVENESS_TIMEOUT)
    finally:
        first.kill()
    assert first.returncode == -signal.SIGKILL
    assert _remembered_hash(state_file) == ""
    before = committed()
    assert before < size

    with FerryClient(server.address, state_file=state_file, retry=QUICK_RETRY) as client:
        result = client.upload(source, "unhashed.bin", block_size=BLOCK)

    assert (result.task_id, result.resumed) == (task_id, True)
    assert result.hashed_bytes == size  # hashed again, while the rest was sent
    assert result.committed_at_start >= before > 0
    # Only the missing blocks travel; a retry (ABORTED while the server notices the killed
    # client's streams are gone) may cost one block per stream again.
    assert result.bytes_sent >= size - result.committed_at_start
    assert result.bytes_resent <= result.retries * 2 * BLOCK
    assert _remembered(state_file) is None
    assert sha256_of(published(server.settings.data_dir, "unhashed.bin")) == sha256_of(source)


def _remembered(state_file: Path) -> dict[str, Any] | None:
    uploads: list[dict[str, Any]] = json.loads(state_file.read_text())["uploads"]
    assert len(uploads) <= 1
    return uploads[0] if uploads else None


def _remembered_task(state_file: Path) -> str | None:
    entry = _remembered(state_file)
    return str(entry["task_id"]) if entry is not None else None


def _remembered_hash(state_file: Path) -> str | None:
    entry = _remembered(state_file)
    return str(entry["sha256"]) if entry is not None else None


def _active_task(state_file: Path) -> str:
    task_id = _remembered_task(state_file)
    assert task_id is not None
    return task_id
