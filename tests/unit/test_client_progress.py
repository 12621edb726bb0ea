"""The command line's progress display: sizes, durations, the bar, the rate, and when lines
are drawn on a terminal and elsewhere."""

from __future__ import annotations

import io

import pytest
from ferry_client.progress import (
    ProgressBar,
    RateMeter,
    describe,
    format_bytes,
    format_duration,
    render_bar,
)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize(("s", "text"), [(0, "0:00"), (75, "1:15"), (3725, "1:02:05")])
def test_format_duration(s: float, text: str) -> None:
    assert format_duration(s) == text


def test_describe_shows_rate_and_time_left_once_known() -> None:
    assert describe(512, 1024, None) == " 50.0% 512 B/1.0 KiB"
    assert describe(1024 * 1024, 3 * 1024 * 1024, 1024 * 1024) == (
        " 33.3% 1.0 MiB/3.0 MiB 1.0 MiB/s 0:02 left"
    )
    assert describe(0, 0, None).startswith("100.0%")


@pytest.mark.parametrize("width", [20, 60, 120])
def test_bar_fits_the_width_and_fills_with_progress(width: int) -> None:
    line = render_bar("uploading", 50, 100, 10.0, width)
    assert len(line) <= width
    if "[" in line:
        inside = line[line.index("[") + 1 : line.index("]")]
        assert inside.count("#") == len(inside) // 2


def test_rate_meter_measures_over_its_window_and_restarts_after_going_backwards() -> None:
    meter = RateMeter(window=5.0)
    assert meter.rate() is None
    for t in range(11):
        meter.add(float(t), t * 100)
    assert meter.rate() == pytest.approx(100.0)
    meter.add(11.0, 500)  # a lost block: progress moved back
    assert meter.rate() is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_when_not_a_terminal_at_most_every_interval() -> None:
    out = io.StringIO()
    clock = Clock()
    bar = ProgressBar(out, "uploading", interactive=False, interval=5.0, clock=clock)
    for t in range(12):
        clock.now = float(t)
        bar.update(t * 10, 110)
    bar.finish()

    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["0.0%", "45.5%", "90.9%", "100.0%"]
    assert "\r" not in out.getvalue()


def test_terminal_bar_redraws_in_place_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    clock = Clock()
    bar = ProgressBar(out, "uploading", interactive=True, interval=0.1, clock=clock)
    for t in range(3):
        clock.now = t * 1.0
        bar.update(t, 2)
    bar.write_line("ferry: warning: retrying")
    bar.finish()

    text = out.getvalue()
    assert text.count("\r") >= 3 and text.endswith("\n")
    assert "\nferry: warning: retrying\n" in text.replace("\r\x1b[K", "\n")


def test_relabel_shows_the_new_label_with_a_stand_in_total_until_the_first_update() -> None:
    out = io.StringIO()
    clock = Clock()
    bar = ProgressBar(out, "uploading", interactive=False, interval=5.0, clock=clock)
    bar.relabel("uploading (hashing 50%)", 200)
    clock.now = 10.0
    bar.update(100, 200)
    clock.now = 20.0
    bar.relabel("uploading", 999)
    bar.finish()

    assert out.getvalue().splitlines() == [
        "uploading (hashing 50%): " + describe(0, 200, None),
        "uploading (hashing 50%): " + describe(100, 200, None),
        "uploading: " + describe(100, 200, None),
        "uploading: " + describe(100, 200, None),
    ]
