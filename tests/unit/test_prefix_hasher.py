"""The background assembler: whatever the commit order, the assembly it publishes holds exactly
the promoted blocks, and the digest it returns is the digest of that file."""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ferry_server.domain.hashing import PrefixHasher
from ferry_server.domain.model import LAYOUT_SHARED_FILE, Task, TaskState, block_count
from ferry_server.domain.ports import CommittedBlock
from ferry_server.storage.filesystem import FileSystemStore

BLOCK = 64 * 1024


class CountingStore(FileSystemStore):
    """The real filesystem store, counting the bytes read back."""

    read_bytes = 0

    def read_block(self, task_id: str, block: CommittedBlock, offset: int) -> Iterator[bytes]:
        for chunk in super().read_block(task_id, block, offset):
            self.read_bytes += len(chunk)
            yield chunk


def make_task(size: int, task_id: str = "a" * 32, layout: int = 2) -> Task:
    now = datetime.now(UTC)
    return Task(
        task_id=task_id, principal="p", file_name="f", size=size, sha256=None,
        store_path="f", metadata={}, block_size=BLOCK, block_count=block_count(size, BLOCK),
        state=TaskState.UPLOADING, overwrite=False, created_at=now, updated_at=now,
        expires_at=now, failure_reason=None, committed_bytes=0, staging_layout=layout,
    )  # fmt: skip


class Staged:
    """A task's blocks written as promoted attempt files, and the repository's view of them."""

    def __init__(self, store: CountingStore, task: Task, data: bytes) -> None:
        self.store, self.task, self.data = store, task, data
        self.blocks: dict[int, CommittedBlock] = {}

    def commit(self, index: int) -> CommittedBlock:
        attempt = f"{index:04x}ab"
        piece = self.data[index * BLOCK : (index + 1) * BLOCK]
        writer = self.store.open_attempt(self.task.task_id, index, attempt)
        writer.write(piece)
        writer.close()
        block = CommittedBlock(index, len(piece), 0, attempt)
        self.blocks[index] = block
        return block

    def committed(self, _task_id: str, start: int) -> list[CommittedBlock]:
        return [b for i, b in sorted(self.blocks.items()) if i >= start]

    def merged(self, name: str) -> bytes:
        return (self.store._staging / self.task.task_id / name).read_bytes()


@pytest.fixture
def staged(tmp_path: Path) -> Staged:
    (tmp_path / "staging").mkdir()
    (tmp_path / "root").mkdir()
    store = CountingStore(tmp_path / "staging", tmp_path / "root", fsync=False)
    data = os.urandom(9 * BLOCK + 123)
    task = make_task(len(data))
    store.create(task.task_id)
    return Staged(store, task, data)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_out_of_order_commits_assemble_the_whole_file_in_the_background(staged) -> None:
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1")
    hasher.start()
    try:
        order = list(range(staged.task.block_count))
        random.Random(7).shuffle(order)
        for index in order:
            hasher.block_committed(staged.task, staged.commit(index))
        wait_for(lambda: hasher.hashed_bytes(staged.task.task_id) == staged.task.size)
        read_in_background = staged.store.read_bytes
        digest = hasher.finish(staged.task, "merge.x")
        # Merge found the work done: nothing more was read.
        assert staged.store.read_bytes == read_in_background == staged.task.size
    finally:
        hasher.stop()
    assert digest == hashlib.sha256(staged.data).hexdigest()
    assert staged.merged("merge.x") == staged.data
    assert not (staged.store._staging / staged.task.task_id / "asm.r1").exists()


def test_commits_made_elsewhere_are_learned_from_the_repository(staged) -> None:
    for index in range(4):  # committed through another replica
        staged.commit(index)
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1")
    hasher.start()
    try:
        hasher.block_committed(staged.task, staged.commit(4))
        wait_for(lambda: hasher.hashed_bytes(staged.task.task_id) == 5 * BLOCK)
        for index in range(5, staged.task.block_count):
            staged.commit(index)
        assert hasher.finish(staged.task, "merge.y") == hashlib.sha256(staged.data).hexdigest()
    finally:
        hasher.stop()
    assert staged.merged("merge.y") == staged.data


def test_an_untracked_task_is_assembled_whole_at_merge(staged) -> None:
    for index in range(staged.task.block_count):
        staged.commit(index)
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1")
    assert hasher.finish(staged.task, "merge.z") == hashlib.sha256(staged.data).hexdigest()
    assert staged.store.read_bytes == staged.task.size
    assert staged.merged("merge.z") == staged.data


def test_a_missing_block_fails_the_merge_assembly(staged) -> None:
    for index in range(staged.task.block_count - 1):
        staged.commit(index)
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1")
    with pytest.raises(Exception, match="not committed"):
        hasher.finish(staged.task, "merge.z")


def test_a_layout_1_task_is_assembled_from_its_shared_file_and_new_attempts(tmp_path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "root").mkdir()
    store = CountingStore(tmp_path / "staging", tmp_path / "root", fsync=False)
    data = os.urandom(4 * BLOCK + 5)
    task = make_task(len(data), layout=LAYOUT_SHARED_FILE)
    # The old layout: one shared file, blocks 0 and 1 committed in it before the upgrade.
    (tmp_path / "staging" / f"{task.task_id}.part").write_bytes(data[: 2 * BLOCK].ljust(len(data)))
    staged = Staged(store, task, data)
    staged.blocks = {i: CommittedBlock(i, BLOCK, 0, None) for i in range(2)}
    for index in range(2, task.block_count):
        staged.commit(index)
    hasher = PrefixHasher(store, staged.committed, replica="r1")
    assert hasher.finish(task, "merge.l") == hashlib.sha256(data).hexdigest()
    assert staged.merged("merge.l") == data


def test_tracking_is_bounded_and_evicted_tasks_still_assemble_correctly(staged) -> None:
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1", max_tasks=1)
    hasher.start()
    try:
        hasher.block_committed(staged.task, staged.commit(0))
        wait_for(lambda: hasher.hashed_bytes(staged.task.task_id) == BLOCK)
        other = Staged(staged.store, make_task(10, task_id="b" * 32), b"0123456789")
        staged.store.create(other.task.task_id)
        hasher.block_committed(other.task, other.commit(0))
        wait_for(lambda: hasher.hashed_bytes(other.task.task_id) == 10)
        assert hasher.hashed_bytes(staged.task.task_id) == 0  # evicted
        for index in range(1, staged.task.block_count):
            staged.commit(index)
        assert hasher.finish(staged.task, "merge.e") == hashlib.sha256(staged.data).hexdigest()
    finally:
        hasher.stop()
    assert staged.merged("merge.e") == staged.data


def test_a_notice_for_a_task_already_merged_is_dropped_quietly(
    staged, caplog: pytest.LogCaptureFixture
) -> None:
    block = staged.commit(0)
    hasher = PrefixHasher(staged.store, staged.committed, replica="r1")
    staged.store.discard(staged.task.task_id)  # published: the staging is gone
    hasher.start()
    try:
        hasher.block_committed(staged.task, block)
    finally:
        hasher.stop()
    assert hasher.hashed_bytes(staged.task.task_id) == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
