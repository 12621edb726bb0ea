"""The background prefix hasher: the same digest as hashing the file, whatever the commit order."""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ferry_server.domain.hashing import PrefixHasher
from ferry_server.domain.model import Task, TaskState, block_count
from ferry_server.storage.filesystem import FileSystemStore

BLOCK = 64 * 1024


class CountingStore(FileSystemStore):
    """The real filesystem store, counting the bytes read back."""

    read_bytes = 0

    def read(self, task_id: str, start: int, end: int) -> Iterator[bytes]:
        for chunk in super().read(task_id, start, end):
            self.read_bytes += len(chunk)
            yield chunk


def make_task(size: int) -> Task:
    now = datetime.now(UTC)
    return Task(
        task_id="a" * 32, principal="p", file_name="f", size=size, sha256=None,
        store_path="f", metadata={}, block_size=BLOCK, block_count=block_count(size, BLOCK),
        state=TaskState.UPLOADING, overwrite=False, created_at=now, updated_at=now,
        expires_at=now, failure_reason=None, committed_bytes=0,
    )  # fmt: skip


@pytest.fixture
def staged(tmp_path: Path) -> tuple[CountingStore, Task, bytes]:
    (tmp_path / "staging").mkdir()
    (tmp_path / "root").mkdir()
    store = CountingStore(tmp_path / "staging", tmp_path / "root", fsync=False)
    data = os.urandom(9 * BLOCK + 123)
    task = make_task(len(data))
    store.write_whole(task.task_id, data)
    return store, task, data


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_out_of_order_commits_hash_the_whole_file_in_the_background(staged) -> None:
    store, task, data = staged
    hasher = PrefixHasher(store, lambda _task_id: [])
    hasher.start()
    try:
        order = list(range(task.block_count))
        random.Random(7).shuffle(order)
        for index in order:
            hasher.block_committed(task, index)
        wait_for(lambda: hasher.hashed_bytes(task.task_id) == task.size)
        read_in_background = store.read_bytes
        assert hasher.digest(task) == hashlib.sha256(data).hexdigest()
        # Merge found the work done: nothing more was read.
        assert store.read_bytes == read_in_background == task.size
    finally:
        hasher.stop()


def test_commits_made_elsewhere_are_learned_from_the_repository(staged) -> None:
    store, task, data = staged
    elsewhere: Sequence[int] = [0, 1, 2, 3]  # committed through another replica
    hasher = PrefixHasher(store, lambda _task_id: elsewhere)
    hasher.start()
    try:
        hasher.block_committed(task, 4)
        wait_for(lambda: hasher.hashed_bytes(task.task_id) == 5 * BLOCK)
        assert hasher.digest(task) == hashlib.sha256(data).hexdigest()
    finally:
        hasher.stop()


def test_an_untracked_task_is_hashed_whole_at_merge(staged) -> None:
    store, task, data = staged
    hasher = PrefixHasher(store, lambda _task_id: [])
    assert hasher.digest(task) == hashlib.sha256(data).hexdigest()
    assert store.read_bytes == task.size


def test_tracking_is_bounded_and_evicted_tasks_still_hash_correctly(staged) -> None:
    store, task, data = staged
    hasher = PrefixHasher(store, lambda _task_id: [], max_tasks=1)
    hasher.start()
    try:
        hasher.block_committed(task, 0)
        wait_for(lambda: hasher.hashed_bytes(task.task_id) == BLOCK)
        other = make_task(10)
        object.__setattr__(other, "task_id", "b" * 32)
        store.write_whole(other.task_id, b"0123456789")
        hasher.block_committed(other, 0)
        wait_for(lambda: hasher.hashed_bytes(other.task_id) == 10)
        assert hasher.hashed_bytes(task.task_id) == 0  # evicted
        assert hasher.digest(task) == hashlib.sha256(data).hexdigest()
    finally:
        hasher.stop()


def test_a_notice_for_a_task_already_merged_is_dropped_quietly(
    staged, caplog: pytest.LogCaptureFixture
) -> None:
    store, task, _ = staged
    hasher = PrefixHasher(store, lambda _task_id: [])
    hasher.digest(task)
    store.discard(task.task_id)  # published: the staging file is gone
    hasher.start()
    try:
        hasher.block_committed(task, 0)
    finally:
        hasher.stop()
    assert hasher.hashed_bytes(task.task_id) == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
