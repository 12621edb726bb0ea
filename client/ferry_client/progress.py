"""The command line's progress display: a redrawn bar with rate and time left on a terminal,
plain periodic lines otherwise. Formatting is pure; ``ProgressBar`` only decides when to draw.
"""

from __future__ import annotations

import collections
import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
#: Seconds of history the rate is measured over: long enough to smooth bursts of blocks,
#: short enough to follow a change of speed.
RATE_WINDOW = 5.0


def format_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(done: int, total: int, rate: float | None) -> str:
    """``45.2% 12.3 MiB/27.2 MiB 10.0 MiB/s 0:02 left``; rate ``None`` while unknown. A total
    of 0 with bytes done is a stream of unknown length: ``12.3 MiB 10.0 MiB/s``."""
    if not total and done:
        rate_text = f" {format_bytes(rate)}/s" if rate else ""
        return f"{format_bytes(done)}{rate_text}"
    percent = 100.0 * done / total if total else 100.0
    parts = [f"{percent:5.1f}%", f"{format_bytes(done)}/{format_bytes(total)}"]
    if rate is not None and rate > 0:
        parts.append(f"{format_bytes(rate)}/s")
        parts.append(f"{format_duration((total - done) / rate)} left")
    return " ".join(parts)


def render_bar(label: str, done: int, total: int, rate: float | None, width: int) -> str:
    """One terminal line of at most ``width`` characters: label, bar, figures."""
    figures = describe(done, total, rate)
    room = width - len(label) - len(figures) - 4
    if room < 10:
        return f"{label} {figures}"[:width]
    fraction = min(1.0, done / total) if total else (0.0 if done else 1.0)
    filled = int(room * fraction)
    return f"{label} [{'#' * filled}{'.' * (room - filled)}] {figures}"


class RateMeter:
    """Bytes per second over the last ``window`` seconds of samples."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self._window = window
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, now: float, done: int) -> None:
        if self._samples and done < self._samples[-1][1]:
            # Progress went backwards (a lost partial block): measure from here.
            self._samples.clear()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()

    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 - t0 <= 0:
            return None
        return (d1 - d0) / (t1 - t0)


class ProgressBar:
    """Draws progress on ``stream``; ``update`` may be called from any thread, often.

    On a terminal the line is redrawn in place at most every ``interval`` seconds (default
    0.1); elsewhere a plain line is printed at most every ``interval`` seconds (default 5).
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        interactive: bool | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._interactive = stream.isatty() if interactive is None else interactive
        self._interval = interval if interval is not None else (0.1 if self._interactive else 5.0)
        self._clock = clock
        self._meter = RateMeter()
        self._lock = threading.Lock()
        self._last_draw: float | None = None
        self._drawn = False
        self._done = 0
        self._total = 0

    def update(self, done: int, total: int) -> None:
        with self._lock:
            now = self._clock()
            self._meter.add(now, done)
            self._done, self._total = done, total
            if self._last_draw is not None and now - self._last_draw < self._interval:
                return
            self._last_draw = now
            self._draw()

    def relabel(self, label: str, total: int) -> None:
        """Show ``label`` from now on, drawn at once if a draw is due. ``total`` stands for the
        total until the first :meth:`update` says it. Adds no sample to the rate."""
        with self._lock:
            self._label = label
            if not self._total:
                self._total = total
            now = self._clock()
            if self._last_draw is not None and now - self._last_draw < self._interval:
                return
            self._last_draw = now
            self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        with self._lock:
            if self._last_draw is None:
                return
            self._draw()
            if self._interactive:
                self._stream.write("\n")
                self._stream.flush()
            self._drawn = False
            self._last_draw = None

    def write_line(self, text: str) -> None:
        """Print ``text`` on its own line without garbling the bar (which is drawn again)."""
        with self._lock:
            if self._interactive and self._drawn:
                self._stream.write("\r\x1b[K")
            self._stream.write(text + "\n")
            if self._interactive and self._drawn:
                self._draw()
            self._stream.flush()

    def _draw(self) -> None:
        rate = self._meter.rate()
        if self._interactive:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = render_bar(self._label, self._done, self._total, rate, width)
            self._stream.write("\r" + line + "\x1b[K")
        else:
            self._stream.write(f"{self._label}: {describe(self._done, self._total, rate)}\n")
        self._stream.flush()
        self._drawn = True
