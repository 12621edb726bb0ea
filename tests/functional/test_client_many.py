"""Many files: planning sources under a destination prefix, ``upload_many`` over a tree of
mixed sizes (some sent whole, some in blocks) with files that cannot be read, continuing past
them, and a second run that finds the rest already there; the ``ferry upload SRC... DEST/``
and ``-r`` forms with their per-file lines, summary and exit codes; Ctrl-C on a batch with
``--cancel-on-interrupt``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient, Outcome, UploadEvent, plan_sources
from ferry_client.batch import PlanError, store_path_under
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    KiB,
    ferry_command,
    make_file,
    published,
    run_ferry,
    sha256_of,
)
from tests.support.protocol import create, upload
from tests.support.proxy import FaultyProxy

BLOCK = 64 * KiB
#: relative path -> size: small files go whole, larger ones in blocks.
TREE = {
    "a.txt": 100,
    "empty": 0,
    "sub/b.bin": UPLOAD_FILE_MAX_SIZE,
    "sub/c.bin": UPLOAD_FILE_MAX_SIZE + 3 * BLOCK + 7,
    "sub/deeper/d.bin": 2 * UPLOAD_FILE_MAX_SIZE,
}


def make_tree(root: Path) -> Path:
    for n, (relative, size) in enumerate(sorted(TREE.items())):
        make_file(root / relative, size, seed=n)
    # Files that cannot be uploaded, each failing on its own (tests run as root, so no
    # chmod 000): a broken symbolic link and a FIFO.
    (root / "sub" / "broken").symlink_to(root / "nowhere")
    os.mkfifo(root / "sub" / "fifo")
    return root


def test_store_paths_are_planned_under_the_prefix() -> None:
    assert store_path_under("x/", ["tree", "sub", "b.bin"]) == "x/tree/sub/b.bin"
    assert store_path_under("", ["a"]) == "a"


def test_plan_keeps_relative_paths_under_the_directorys_name(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    items = plan_sources([root, tmp_path / "tree" / "a.txt"], "x/", recursive=True)
    store_paths = [i.store_path for i in items]
    assert sorted(store_paths[:-1]) == sorted(
        [f"x/tree/{r}" for r in TREE] + ["x/tree/sub/broken", "x/tree/sub/fifo"]
    )
    assert store_paths[-1] == "x/a.txt"


def test_plan_refuses_a_directory_without_recursive_naming_it(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    with pytest.raises(PlanError, match=f"{root} is a directory: use -r/--recursive"):
        plan_sources([root], "x/", recursive=False)
    with pytest.raises(PlanError, match="several sources need a destination ending with '/'"):
        plan_sources([root / "a.txt", root / "empty"], "x", recursive=False)


def test_upload_many_continues_past_failures_and_a_rerun_finds_the_rest_there(
    server: FerryServer, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "tree")
    items = plan_sources([root], "x/", recursive=True)
    done: list[tuple[int, int]] = []
    events: list[UploadEvent] = []
    with FerryClient(server.address, state_file=tmp_path / "s.json", retry=QUICK_RETRY) as client:
        first = client.upload_many(
            items,
            jobs=3,
            block_size=BLOCK,
            progress=lambda d, t: done.append((d, t)),
            on_event=events.append,
        )
        second = client.upload_many(items, jobs=3, block_size=BLOCK)

    by_path = {Path(f.item.path).relative_to(root).as_posix(): f for f in first.files}
    for relative in TREE:
        assert by_path[relative].outcome is Outcome.UPLOADED, by_path[relative].error
        target = published(server.settings.data_dir, f"x/tree/{relative}")
        assert sha256_of(target) == sha256_of(root / relative)
    assert by_path["sub/broken"].outcome is Outcome.FAILED
    assert "No such file or directory" in (by_path["sub/broken"].error or "")
    assert by_path["sub/fifo"].outcome is Outcome.FAILED
    assert "not a regular file" in (by_path["sub/fifo"].error or "")
    assert (first.uploaded, first.already_there, first.failed, first.cancelled) == (5, 0, 2, 0)
    assert not first.ok
    assert first.bytes_published == sum(TREE.values())
    assert done[-1][1] == sum(TREE.values()) and max(d for d, _ in done) == sum(TREE.values())
    assert {e.path for e in events if e.kind == "completed"} == {
        str(root / relative) for relative in TREE
    }

    again = {Path(f.item.path).relative_to(root).as_posix(): f for f in second.files}
    for relative in TREE:
        assert again[relative].outcome is Outcome.ALREADY_THERE, again[relative].error
    assert (second.already_there, second.failed) == (5, 2)
    # The files sent in blocks were not sent, nor even hashed, again.
    for relative in ("sub/c.bin", "sub/deeper/d.bin"):
        result = again[relative].result
        assert result is not None
        assert (result.bytes_sent, result.hashed_bytes) == (0, 0)
        assert result.task_id == by_path[relative].result.task_id  # type: ignore[union-attr]


def test_upload_many_resumes_what_an_earlier_run_left(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    big = make_file(tmp_path / "big.bin", 2 * UPLOAD_FILE_MAX_SIZE)
    small = make_file(tmp_path / "small.bin", 10)
    data = big.read_bytes()
    # An earlier run (declared with the file's hash) that left half of the blocks.
    task = create(stub, data, "y/big.bin", block_size=BLOCK, sha256=sha256_of(big))
    upload(stub, task, data, range(task.block_count // 2))
    with FerryClient(server.address, state_file=tmp_path / "s.json", retry=QUICK_RETRY) as client:
        client.upload(small, "y/small.bin")
        summary = client.upload_many(
            [(str(big), "y/big.bin"), (str(small), "y/small.bin")], block_size=BLOCK
        )
    assert [f.outcome for f in summary.files] == [Outcome.UPLOADED, Outcome.ALREADY_THERE]
    result = summary.files[0].result
    assert result is not None
    assert (result.task_id, result.resumed) == (task.task_id, True)
    assert result.committed_at_start == (task.block_count // 2) * BLOCK
    assert sha256_of(published(server.settings.data_dir, "y/big.bin")) == sha256_of(big)


def test_command_uploads_sources_and_directories_with_a_summary(
    server: FerryServer, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "tree")
    loose = make_file(tmp_path / "loose.bin", 50)
    base = ["--server", server.address, "--state-file", str(tmp_path / "s.json")]

    refused = run_ferry(["upload", str(root), "x/", *base])
    assert refused.returncode == 2
    assert f"{root} is a directory: use -r/--recursive" in refused.stderr

    first = run_ferry(["upload", "-r", str(root), str(loose), "x/", "--jobs", "2", *base])
    assert first.returncode == 1, first.stderr
    assert f"uploaded: {loose} -> x/loose.bin (50 B)" in first.stderr
    assert f"failed: {root / 'sub' / 'fifo'} -> x/tree/sub/fifo: " in first.stderr
    assert first.stdout.startswith("6 uploaded, 0 already there, 2 failed, 0 cancelled; ")

    second = run_ferry(["upload", "-r", str(root), str(loose), "x/", "--json", *base])
    assert second.returncode == 1
    summary = json.loads(second.stdout)
    assert (summary["uploaded"], summary["already_there"], summary["failed"]) == (0, 6, 2)
    assert {f["outcome"] for f in summary["files"]} == {"already there", "failed"}

    (root / "sub" / "broken").unlink()
    (root / "sub" / "fifo").unlink()
    third = run_ferry(["upload", "-r", str(root), "x/", *base])
    assert third.returncode == 0, third.stderr
    assert third.stdout.startswith("0 uploaded, 5 already there, 0 failed, 0 cancelled; ")


def test_ctrl_c_with_cancel_on_interrupt_cancels_the_tasks_the_batch_created(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    sources = [make_file(tmp_path / f"f{n}.bin", 2 * UPLOAD_FILE_MAX_SIZE, seed=n) for n in (1, 2)]
    # A slow link, so both files are surely in flight when the batch is interrupted.
    with FaultyProxy(server.address, rate=256 * KiB) as proxy:
        args = [
            "upload", *map(str, sources), "z/", "--server", proxy.address, "--jobs", "2",
            "--block-size", "64K", "--state-file", str(tmp_path / "s.json"), "--json-events",
            "--cancel-on-interrupt",
        ]  # fmt: skip
        process = subprocess.Popen(
            ferry_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout is not None
            created: list[str] = []
            while len(created) < 2:
                event = json.loads(process.stdout.readline())
                if event["event"] == "created":
                    created.append(event["task_id"])
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=LIVENESS_TIMEOUT)
        finally:
            process.kill()
    assert process.returncode == 130
    assert "interrupted; the tasks this run created for files in flight were cancelled" in stderr
    for task_id in created:
        state = stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task.state
        assert state == pb.TASK_STATE_CANCELED
