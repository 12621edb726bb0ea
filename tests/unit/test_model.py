"""Block arithmetic and the state machine."""

from __future__ import annotations

import itertools

from ferry_server.domain.model import (
    TERMINAL_STATES,
    BlockRange,
    TaskState,
    block_count,
    block_length,
    can_transition,
    describe_ranges,
    missing_ranges,
)
from hypothesis import given
from hypothesis import strategies as st


@given(st.integers(0, 10**12), st.integers(1, 2**26))
def test_blocks_cover_the_file_exactly(size: int, block_size: int) -> None:
    count = block_count(size, block_size)
    assert count * block_size >= size > (count - 1) * block_size or (size == 0 and count == 0)
    if count:
        assert block_length(size, block_size, count - 1) == size - (count - 1) * block_size
        assert 0 < block_length(size, block_size, count - 1) <= block_size


@given(st.integers(0, 300), st.sets(st.integers(0, 299)))
def test_missing_ranges_are_the_sorted_disjoint_complement(count: int, committed: set[int]):
    committed = {i for i in committed if i < count}
    ranges = missing_ranges(count, committed)
    covered = [i for r in ranges for i in range(r.start, r.end)]
    assert covered == sorted(set(range(count)) - committed)
    for left, right in itertools.pairwise(ranges):
        assert left.end < right.start  # disjoint and never adjacent: compact


def test_describe_ranges_is_short_and_readable() -> None:
    assert describe_ranges([BlockRange(0, 4), BlockRange(7, 8)]) == "0-3, 7"
    many = [BlockRange(i * 2, i * 2 + 1) for i in range(15)]
    assert describe_ranges(many).endswith("(+5 more ranges)")


def test_terminal_states_go_nowhere() -> None:
    for state in TERMINAL_STATES:
        assert not any(can_transition(state, target) for target in TaskState)


def test_pause_and_resume_are_symmetric() -> None:
    assert can_transition(TaskState.UPLOADING, TaskState.PAUSED)
    assert can_transition(TaskState.PAUSED, TaskState.UPLOADING)
    assert not can_transition(TaskState.PAUSED, TaskState.COMPLETED)
