"""Block sizes in the object store: S3's part bounds within the server's, chosen from the file
size (or a pipe's declared maximum) so that no file needs more than 10,000 parts."""

from __future__ import annotations

import pytest
from ferry_server.config import BLOCK_ALIGNMENT, GiB, MiB, TiB
from ferry_server.domain.errors import InvalidArgument, OutOfRange, Reason
from ferry_server.domain.model import block_count
from ferry_server.domain.part_size import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    PartBounds,
    choose_block_size,
    s3_bounds,
)
from hypothesis import given
from hypothesis import strategies as st

#: The server's defaults: 256 KiB to 64 MiB blocks, 8 MiB by default.
DEFAULTS = s3_bounds(min_block_size=256 * 1024, max_block_size=64 * MiB, alignment=BLOCK_ALIGNMENT)


def test_s3_raises_the_minimum_to_5_mib_and_keeps_the_servers_maximum() -> None:
    expected = PartBounds(
        minimum=MIN_PART_SIZE, maximum=64 * MiB, alignment=BLOCK_ALIGNMENT, max_parts=MAX_PARTS
    )
    assert expected == DEFAULTS
    assert DEFAULTS.largest_file == 64 * MiB * 10_000


def test_s3_caps_the_maximum_at_5_gib() -> None:
    bounds = s3_bounds(min_block_size=MiB, max_block_size=2**31 - 1, alignment=BLOCK_ALIGNMENT)
    assert bounds.maximum == (2**31 - 1) // BLOCK_ALIGNMENT * BLOCK_ALIGNMENT
    huge = s3_bounds(min_block_size=MiB, max_block_size=8 * GiB, alignment=BLOCK_ALIGNMENT)
    assert huge.maximum == MAX_PART_SIZE


def test_server_bounds_below_s3s_minimum_are_a_settings_error() -> None:
    with pytest.raises(ValueError, match="at least 5242880"):
        s3_bounds(min_block_size=64 * 1024, max_block_size=4 * MiB, alignment=BLOCK_ALIGNMENT)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, 8 * MiB),  # an empty file: one empty part (or a plain put)
        (1, 8 * MiB),
        (80 * GiB, 8 * MiB + 256 * 1024),  # 8 MiB blocks would be 10,240 parts
        (10_000 * 8 * MiB, 8 * MiB),  # exactly 10,000 parts of the default
        (10_000 * 8 * MiB + 1, 8 * MiB + BLOCK_ALIGNMENT),
        (10_000 * 64 * MiB, 64 * MiB),  # the largest file the default bounds allow
    ],
)
def test_default_block_size_grows_only_when_the_file_needs_it(size: int, expected: int) -> None:
    assert choose_block_size(size, DEFAULTS, default=8 * MiB) == expected


def test_a_default_below_s3s_minimum_is_raised_to_it() -> None:
    assert choose_block_size(100 * MiB, DEFAULTS, default=256 * 1024) == MIN_PART_SIZE


def test_a_file_larger_than_10000_largest_parts_is_out_of_range() -> None:
    with pytest.raises(OutOfRange) as caught:
        choose_block_size(1 * TiB, DEFAULTS, default=8 * MiB)
    assert caught.value.reason == Reason.FILE_TOO_LARGE
    assert caught.value.field == "size"
    assert caught.value.facts["limitBytes"] == str(DEFAULTS.largest_file)


def test_a_requested_block_size_is_kept_when_it_fits() -> None:
    assert choose_block_size(GiB, DEFAULTS, default=8 * MiB, requested=16 * MiB) == 16 * MiB


@pytest.mark.parametrize("requested", [4 * MiB, 128 * MiB, 16 * MiB + 1])
def test_a_requested_block_size_outside_the_bounds_is_refused(requested: int) -> None:
    with pytest.raises(InvalidArgument) as caught:
        choose_block_size(GiB, DEFAULTS, default=8 * MiB, requested=requested)
    assert caught.value.reason == Reason.INVALID_BLOCK_SIZE
    assert caught.value.field == "block_size"


def test_a_requested_block_size_that_needs_too_many_parts_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="more than 10000 parts; use at least"):
        choose_block_size(100 * GiB, DEFAULTS, default=8 * MiB, requested=8 * MiB)


def test_a_pipe_gets_the_block_size_of_its_declared_maximum() -> None:
    """A pipe of unknown length declares a maximum; any length up to it then fits."""
    declared = 500 * GiB
    block = choose_block_size(declared, DEFAULTS, default=8 * MiB)
    for actual in (0, 1, GiB, declared):
        assert block_count(actual, block) <= MAX_PARTS


bounds_strategy = st.builds(
    lambda lo, span: s3_bounds(
        min_block_size=lo * BLOCK_ALIGNMENT,
        max_block_size=(lo + span) * BLOCK_ALIGNMENT + MIN_PART_SIZE,
        alignment=BLOCK_ALIGNMENT,
    ),
    st.integers(1, 200),
    st.integers(0, 100_000),
)


@given(
    bounds=bounds_strategy,
    fraction=st.floats(0, 1),
    default=st.integers(1, 2048).map(lambda n: n * BLOCK_ALIGNMENT),
)
def test_any_file_that_fits_gets_an_allowed_block_size_and_at_most_10000_parts(
    bounds: PartBounds, fraction: float, default: int
) -> None:
    size = int(bounds.largest_file * fraction)
    block = choose_block_size(size, bounds, default=default)
    assert bounds.minimum <= block <= bounds.maximum
    assert MIN_PART_SIZE <= block <= MAX_PART_SIZE
    assert block % BLOCK_ALIGNMENT == 0
    assert block_count(size, block) <= MAX_PARTS
    # Never larger than needed: the default (within bounds) or the smallest that fits.
    smaller = block - BLOCK_ALIGNMENT
    if block > max(default, bounds.minimum):
        assert block_count(size, smaller) > MAX_PARTS


@given(bounds=bounds_strategy, extra=st.integers(1, 10**12))
def test_any_file_beyond_the_limit_is_refused(bounds: PartBounds, extra: int) -> None:
    with pytest.raises(OutOfRange):
        choose_block_size(bounds.largest_file + extra, bounds, default=8 * MiB)
