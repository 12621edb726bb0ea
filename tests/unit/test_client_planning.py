"""Upload planning without I/O: how an upload starts (fresh, by hash, by a remembered task's
id) and what becomes of a remembered task, block arithmetic, missing ranges, message slicing,
the shared work queue and progress accounting."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from ferry_client.models import TaskInfo, TaskState
from ferry_client.planning import (
    MAX_MESSAGE_DATA,
    Block,
    BlockRange,
    ProgressAccount,
    RememberedTask,
    SameFile,
    Start,
    WorkQueue,
    block_at,
    block_count,
    committed_bytes,
    is_lost_declaration,
    judge_remembered,
    judge_same_file,
    message_slices,
    missing_bytes,
    normalise,
    plan_start,
    proof_blocks,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("size", "block_size", "count"),
    [(0, 64, 0), (1, 64, 1), (64, 64, 1), (65, 64, 2), (128, 64, 2)],
)
def test_block_count_is_ceiling_and_zero_for_empty_file(
    size: int, block_size: int, count: int
) -> None:
    assert block_count(size, block_size) == count


def test_blocks_cover_the_file_and_only_the_last_is_short() -> None:
    size, block_size = 5 * 64 + 7, 64
    blocks = [block_at(size, block_size, i) for i in range(block_count(size, block_size))]
    assert blocks[0] == Block(0, 0, 64)
    assert blocks[-1] == Block(5, 320, 7)
    assert sum(b.length for b in blocks) == size
    assert all(b.offset == b.index * block_size for b in blocks)


def test_block_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        block_at(10, 64, 1)


def test_normalise_sorts_merges_and_clips_ranges() -> None:
    ranges = [BlockRange(5, 9), BlockRange(0, 2), BlockRange(1, 3), BlockRange(8, 20)]
    assert normalise(ranges, count=12) == [BlockRange(0, 3), BlockRange(5, 12)]


@settings(deadline=None)
@given(
    size=st.integers(0, 10_000),
    block_size=st.sampled_from([1, 7, 64, 1000]),
    data=st.data(),
)
def test_missing_and_committed_bytes_add_up_to_the_file(
    size: int, block_size: int, data: st.DataObject
) -> None:
    count = block_count(size, block_size)
    missing_set = data.draw(st.sets(st.integers(0, max(0, count - 1))) if count else st.just(set()))
    ranges = [BlockRange(i, i + 1) for i in missing_set]

    expected = sum(block_at(size, block_size, i).length for i in missing_set)
    assert missing_bytes(size, block_size, ranges) == expected
    assert committed_bytes(size, block_size, ranges) == size - expected


@settings(deadline=None)
@given(length=st.integers(0, 5 * MAX_MESSAGE_DATA), max_message=st.integers(1024, 3 * 1024 * 1024))
def test_message_slices_are_contiguous_and_bounded(length: int, max_message: int) -> None:
    slices = list(message_slices(length, max_message))
    position = 0
    for offset, piece in slices:
        assert offset == position
        assert 0 < piece <= max_message
        position += piece
    assert position == length


def test_work_queue_hands_out_missing_blocks_in_order_then_none() -> None:
    queue = WorkQueue(
        size=10 * 64 + 1, block_size=64, missing=[BlockRange(8, 11), BlockRange(2, 4)]
    )
    assert len(queue) == 5
    taken = [queue.take() for _ in range(5)]
    assert [b.index for b in taken if b] == [2, 3, 8, 9, 10]
    assert taken[-1] == Block(10, 640, 1)
    assert queue.take() is None


def test_work_queue_puts_lost_blocks_back_at_the_front() -> None:
    queue = WorkQueue(size=4 * 64, block_size=64, missing=[BlockRange(0, 4)])
    first = queue.take()
    assert first is not None
    queue.put_back(first)
    assert [queue.take() for _ in range(4)] == [block_at(256, 64, i) for i in range(4)]


def test_work_queue_gives_each_block_to_one_of_many_threads() -> None:
    count = 2000
    queue = WorkQueue(size=count * 64, block_size=64, missing=[BlockRange(0, count)])
    taken: list[list[int]] = [[] for _ in range(4)]

    def drain(mine: list[int]) -> None:
        while (block := queue.take()) is not None:
            mine.append(block.index)

    threads = [threading.Thread(target=drain, args=(mine,)) for mine in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = sorted(i for mine in taken for i in mine)
    assert everything == list(range(count))


def test_progress_counts_sent_bytes_and_moves_backwards_when_a_block_is_lost() -> None:
    seen: list[tuple[int, int]] = []
    account = ProgressAccount(total=300, committed=100, callback=lambda d, t: seen.append((d, t)))

    account.sent(1, 60)
    account.sent(2, 30)
    account.committed(1, 100)
    account.lost(2)
    account.reset(200)

    assert seen == [(160, 300), (190, 300), (230, 300), (200, 300), (200, 300)]
    assert account.done == 200


def test_block_range_rejects_inverted_bounds() -> None:
    with pytest.raises(ValueError):
        BlockRange(3, 2)
    assert len(BlockRange(2, 2)) == 0
    assert len(BlockRange(2, 5)) == 3


SHA_A, SHA_B = "a" * 64, "b" * 64


def task_info(**changes: Any) -> TaskInfo:
    """An UPLOADING task without a hash, as a fresh upload of ``f.bin`` declares it."""
    task = TaskInfo(
        task_id="1" * 32,
        file_name="f.bin",
        size=1000,
        sha256="",
        store_path="d/f.bin",
        metadata={"k": "v"},
        block_size=256,
        block_count=4,
        state=TaskState.UPLOADING,
        committed_bytes=0,
        overwrite=False,
        create_time=None,
        update_time=None,
        expire_time=None,
        failure_reason="",
    )
    return dataclasses.replace(task, **changes)


@pytest.mark.parametrize(
    ("task_id", "sha256", "start"),
    [
        ("t", "", Start.BY_ID),
        ("t", SHA_A, Start.BY_ID),
        (None, SHA_A, Start.BY_HASH),
        (None, "", Start.FRESH),
    ],
)
def test_start_by_remembered_id_else_by_known_hash_else_fresh(
    task_id: str | None, sha256: str, start: Start
) -> None:
    assert plan_start(remembered_task_id=task_id, sha256=sha256) is start


@pytest.mark.parametrize(
    ("changes", "known", "verdict"),
    [
        ({}, "", RememberedTask.CONTINUE),
        ({}, SHA_A, RememberedTask.CONTINUE),
        ({"sha256": SHA_A}, "", RememberedTask.CONTINUE),
        ({"sha256": SHA_A}, SHA_A.upper(), RememberedTask.CONTINUE),
        ({"state": TaskState.PAUSED}, "", RememberedTask.PAUSED),
        ({"state": TaskState.COMPLETED, "sha256": SHA_A}, SHA_A, RememberedTask.CONTINUE),
        ({"state": TaskState.COMPLETED, "sha256": SHA_A}, "", RememberedTask.GONE),
        ({"state": TaskState.COMPLETED, "sha256": SHA_B}, SHA_A, RememberedTask.GONE),
        ({"state": TaskState.CANCELED}, SHA_A, RememberedTask.GONE),
        ({"state": TaskState.EXPIRED}, "", RememberedTask.GONE),
        ({"state": TaskState.FAILED}, "", RememberedTask.GONE),
        ({"sha256": SHA_B}, SHA_A, RememberedTask.GONE),
        ({"size": 999}, "", RememberedTask.GONE),
        ({"store_path": "d/g.bin"}, "", RememberedTask.GONE),
    ],
    ids=[
        "uploading",
        "uploading-hash-known",
        "declared-hash-unknown-yet",
        "declared-same-hash",
        "paused",
        "completed-with-this-hash",
        "completed-hash-unknown",
        "completed-other-file",
        "canceled",
        "expired",
        "failed",
        "declared-other-hash",
        "other-size",
        "other-store-path",
    ],
)
def test_remembered_task_is_continued_only_while_it_can_still_be_this_files(
    changes: dict[str, Any], known: str, verdict: RememberedTask
) -> None:
    task = task_info(**changes)
    assert judge_remembered(task, size=1000, store_path="d/f.bin", sha256=known) is verdict


def test_remembered_task_unknown_to_the_server_is_gone() -> None:
    assert judge_remembered(None, size=1, store_path="x", sha256="") is RememberedTask.GONE


DECLARED: dict[str, Any] = {
    "file_name": "f.bin",
    "size": 1000,
    "store_path": "d/f.bin",
    "metadata": {"k": "v"},
    "block_size": 256,
    "overwrite": False,
}


def test_lost_declaration_is_recognised_exactly_as_declared() -> None:
    assert is_lost_declaration(task_info(), **DECLARED)
    # The server's block size, when the declaration left it to the server.
    assert is_lost_declaration(task_info(block_size=8 << 20), **{**DECLARED, "block_size": 0})


@pytest.mark.parametrize(
    "changes",
    [
        {"sha256": SHA_A},
        {"state": TaskState.PAUSED},
        {"committed_bytes": 256},
        {"file_name": "g.bin"},
        {"size": 999},
        {"store_path": "d/g.bin"},
        {"metadata": {}},
        {"block_size": 512},
        {"overwrite": True},
    ],
    ids=lambda c: next(iter(c)),
)
def test_anything_else_is_not_taken_for_a_lost_declaration(changes: dict[str, Any]) -> None:
    assert not is_lost_declaration(task_info(**changes), **DECLARED)


# -- proving that a task found without the state file holds this file -------------------------


def test_same_file_needs_every_committed_block_to_match() -> None:
    local = {0: 11, 2: 33}
    assert judge_same_file([(0, 11), (2, 33)], local, 2) is SameFile.SAME
    assert judge_same_file([(0, 11), (2, 34)], local, 2) is SameFile.DIFFERENT
    assert judge_same_file([], {}, 0) is SameFile.UNPROVEN
    # Bytes committed but none listed (a server that does not list them): not proven.
    assert judge_same_file([], {}, 5) is SameFile.DIFFERENT
    assert judge_same_file([(0, 11)], None, 1) is SameFile.DIFFERENT


def test_proof_reads_only_the_committed_blocks_and_rejects_indices_outside_the_file() -> None:
    assert proof_blocks(10, 4, [(0, 1), (2, 9)]) == [Block(0, 0, 4), Block(2, 8, 2)]
    assert proof_blocks(10, 4, [(3, 1)]) is None
    assert proof_blocks(0, 4, [(0, 1)]) is None
