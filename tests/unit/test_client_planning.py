"""Upload planning without I/O: block arithmetic, missing ranges, message slicing, the shared
work queue and progress accounting."""

from __future__ import annotations

import threading

import pytest
from ferry_client.planning import (
    MAX_MESSAGE_DATA,
    Block,
    BlockRange,
    ProgressAccount,
    WorkQueue,
    block_at,
    block_count,
    committed_bytes,
    message_slices,
    missing_bytes,
    normalise,
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
