"""The sliding window's sizing (ferry_client.window): pure planning, times passed in."""

from __future__ import annotations

import pytest
from ferry_client.window import GAIN, WindowLimits, WindowSizer
from hypothesis import given
from hypothesis import strategies as st

MiB = 1024 * 1024
BLOCK = 8 * MiB


def simulate(sizer: WindowSizer, *, rate: float, delay: float, blocks: int) -> None:
    """A stream that keeps a link of ``rate`` bytes/s full: each block's bytes are handed over
    at the link's pace and acknowledged ``delay`` seconds after its last byte."""
    t = 0.0
    for index in range(blocks):
        sizer.started(index, t)
        t += BLOCK / rate
        sizer.sent(index, t)
        sizer.acknowledged(index, BLOCK, t + delay)


def test_before_any_acknowledgement_two_blocks_go() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK))
    assert sizer.window() == 2 * BLOCK
    assert sizer.rate is None and sizer.delay is None


def test_a_long_link_gets_one_block_plus_twice_its_bandwidth_delay_product() -> None:
    rate, delay = 12.5e6, 0.150  # 100 Mbit/s, 150 ms
    sizer = WindowSizer(WindowLimits(BLOCK))
    simulate(sizer, rate=rate, delay=delay, blocks=6)
    assert sizer.rate == pytest.approx(rate)
    assert sizer.delay == pytest.approx(delay)
    assert sizer.window() == int(BLOCK + GAIN * rate * delay)


def test_a_short_link_needs_no_more_than_the_minimum() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK))
    simulate(sizer, rate=125e6, delay=0.001, blocks=6)  # 1 Gbit/s, 1 ms
    assert BLOCK <= sizer.window() < BLOCK + MiB


def test_the_window_never_exceeds_its_bound() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK, max_bytes=20 * MiB))
    simulate(sizer, rate=1.25e9, delay=0.5, blocks=6)  # 10 Gbit/s, 500 ms
    assert sizer.window() == 20 * MiB


def test_a_bound_below_one_block_still_lets_a_whole_block_go() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK, max_bytes=MiB))
    assert sizer.window() == BLOCK
    assert sizer.may_send(0, BLOCK)
    assert not sizer.may_send(1, BLOCK)


def test_a_burst_of_acknowledgements_after_a_slow_commit_is_not_a_fast_link() -> None:
    """Two blocks acknowledged 1 ms apart after a stall: the rate sample is bounded by how fast
    the second block's bytes were handed over, not by the gap between the acknowledgements."""
    sizer = WindowSizer(WindowLimits(BLOCK))
    sizer.started(0, 0.0)
    sizer.sent(0, 1.0)
    sizer.started(1, 1.0)
    sizer.sent(1, 2.0)
    sizer.acknowledged(0, BLOCK, 3.0)
    sizer.acknowledged(1, BLOCK, 3.001)
    # The samples: the first block over its first byte to its ack (3 s), the second over the
    # second it took to hand over; never over the 1 ms between the acknowledgements.
    assert sizer.rate == pytest.approx(BLOCK / 1.0)


def test_delay_takes_the_lowest_and_rate_the_highest_recent_sample() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK))
    simulate(sizer, rate=10e6, delay=0.2, blocks=3)
    # One slow commit: a longer delay and a lower rate sample change neither estimate.
    sizer.started(3, 100.0)
    sizer.sent(3, 100.0 + BLOCK / 10e6)
    sizer.acknowledged(3, BLOCK, 100.0 + BLOCK / 10e6 + 2.0)
    assert sizer.delay == pytest.approx(0.2)
    assert sizer.rate == pytest.approx(10e6)


def test_a_lost_stream_forgets_its_blocks_in_flight() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK))
    sizer.started(0, 0.0)
    sizer.sent(0, 1.0)
    sizer.lost()
    sizer.acknowledged(0, BLOCK, 1.1)  # e.g. a late acknowledgement on a new stream
    assert sizer.rate is None and sizer.delay is None
    assert sizer.window() == 2 * BLOCK


def test_a_fixed_window_ignores_the_measurements() -> None:
    sizer = WindowSizer(WindowLimits(BLOCK, fixed_blocks=1))
    simulate(sizer, rate=12.5e6, delay=0.150, blocks=4)
    assert sizer.window() == BLOCK


@pytest.mark.parametrize(
    "limits",
    [
        {"block_size": 0},
        {"block_size": BLOCK, "max_bytes": 0},
        {"block_size": BLOCK, "initial_blocks": 0},
        {"block_size": BLOCK, "fixed_blocks": 0},
    ],
)
def test_nonsense_limits_are_refused(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        WindowLimits(**limits)


@given(
    block=st.integers(1, 64 * MiB),
    max_bytes=st.integers(1, 256 * MiB),
    samples=st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10), st.floats(0, 10)), max_size=20),
)
def test_the_window_stays_within_one_block_and_the_bound(
    block: int, max_bytes: int, samples: list[tuple[float, float, float]]
) -> None:
    """Whatever the timings (even nonsensical ones), the window is at least one block and at
    most the bound (or one block, if that is larger): re-sends after a cut stay bounded."""
    sizer = WindowSizer(WindowLimits(block, max_bytes=max_bytes))
    t = 0.0
    for index, (handing, wait, gap) in enumerate(samples):
        sizer.started(index, t)
        sizer.sent(index, t + handing)
        sizer.acknowledged(index, block, t + handing + wait)
        t += gap
        assert block <= sizer.window() <= max(block, max_bytes)
