"""How many bytes one UploadParts stream may have sent but not yet had acknowledged: the sliding
window, sized from the bandwidth-delay product the stream measures from its own acknowledgements.

Pure planning: the caller passes the times (``time.monotonic()``); nothing here reads a clock
or does I/O.

Why a window in bytes, and why this size: a block is acknowledged only after its last byte has
crossed the link and the server has made it durable, so a stream that waits for each
acknowledgement leaves the link idle for one round trip plus the server's commit per block
(on a 100 Mbit/s, 150 ms link: 20% of the time with 8 MiB blocks). To keep the link full the
stream must have sent, unacknowledged, the block being acknowledged plus what the link carries
while the acknowledgement travels back: one block plus rate x delay. The stream measures both
from its acknowledgements, as BBR does from TCP's. The delivery rate: a block's bytes over the
longer of the time its bytes took to be handed to gRPC and the time since the previous
acknowledgement (since its first byte, for a stream's first), so that a burst of
acknowledgements after a slow commit does not read as a fast link; the highest recent sample,
since a stream limited by its own window under-measures the link. The acknowledgement delay:
from handing a block's last byte to gRPC to its acknowledgement, the lowest recent sample, since
queues on the way only ever add to it. The window is ``GAIN`` times that product plus a block,
so that the rate it measures is never capped by the window it set (a window of exactly one BDP
measures exactly the rate it allows and cannot grow), and never more than ``max_bytes``: the
bound on what a cut connection costs to send again.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

#: Headroom over the measured bandwidth-delay product (see the module's docstring).
GAIN = 2.0
#: Acknowledgements whose samples the filters keep: enough to ride out a slow commit or a
#: stream that waited on its queue, few enough to follow a link that changes.
SAMPLES = 16
#: The default bound per stream, what a cut connection may cost to send again: 500 Mbit/s at
#: 40 ms RTT plus a ~50 ms commit needs about 19 MiB with 8 MiB blocks, 1 Gbit/s at 100 ms
#: about 38 MiB (and, with two streams sharing it, half of that each).
DEFAULT_MAX_WINDOW = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WindowLimits:
    """The window's bounds for one upload: at least one block (a stream always sends a whole
    block), at most ``max_bytes`` (or one block if that is larger), starting at
    ``initial_bytes`` until acknowledgements say more."""

    block_size: int
    max_bytes: int = DEFAULT_MAX_WINDOW
    #: Before any acknowledgement: two blocks, so the second travels while the first commits.
    initial_blocks: int = 2
    #: A fixed window of this many blocks instead of the measured one (``None``: measured).
    fixed_blocks: int | None = None

    def __post_init__(self) -> None:
        if self.block_size <= 0 or self.max_bytes <= 0 or self.initial_blocks < 1:
            raise ValueError("block_size, max_bytes and initial_blocks must be positive")
        if self.fixed_blocks is not None and self.fixed_blocks < 1:
            raise ValueError("fixed_blocks must be at least 1")

    @property
    def ceiling(self) -> int:
        return max(self.block_size, self.max_bytes)

    @property
    def initial(self) -> int:
        return self.clamp(self.initial_blocks * self.block_size)

    def clamp(self, nbytes: float) -> int:
        if math.isnan(nbytes):
            # An infinite rate (two samples in one clock tick) times a zero delay: no product
            # was measured, so the smallest window.
            return self.block_size
        return int(min(max(nbytes, self.block_size), self.ceiling))


class WindowSizer:
    """One stream's window: feed it each block's last send and its acknowledgement; ask
    :meth:`window` before sending. Not thread-safe: the stream's lock guards it."""

    def __init__(self, limits: WindowLimits) -> None:
        self.limits = limits
        #: When each unacknowledged block's first and last bytes were handed over, by index.
        self._started_at: dict[int, float] = {}
        self._sent_at: dict[int, float] = {}
        self._last_ack: float | None = None
        self._rates: collections.deque[float] = collections.deque(maxlen=SAMPLES)
        self._delays: collections.deque[float] = collections.deque(maxlen=SAMPLES)

    def started(self, index: int, now: float) -> None:
        """Block ``index``'s first byte was handed to the transport at ``now``."""
        self._started_at[index] = now

    def sent(self, index: int, now: float) -> None:
        """Block ``index``'s last byte was handed to the transport at ``now``."""
        self._sent_at[index] = now

    def acknowledged(self, index: int, nbytes: int, now: float) -> None:
        """Block ``index``, ``nbytes`` long, was acknowledged at ``now``."""
        started = self._started_at.pop(index, None)
        sent = self._sent_at.pop(index, None)
        if started is not None and sent is not None and now >= sent >= started:
            self._delays.append(now - sent)
            # The stream's first acknowledgement has no predecessor: the whole block's time,
            # from its first byte on, is the only interval known to have carried it.
            since = self._last_ack if self._last_ack is not None else started
            interval = max(sent - started, now - since)
            if interval > 0:
                self._rates.append(nbytes / interval)
        self._last_ack = now

    def lost(self) -> None:
        """The stream failed: its unacknowledged blocks will be sent on another stream."""
        self._started_at.clear()
        self._sent_at.clear()
        self._last_ack = None

    @property
    def rate(self) -> float | None:
        """Bytes per second, the highest recent delivery-rate sample (None before two acks)."""
        return max(self._rates) if self._rates else None

    @property
    def delay(self) -> float | None:
        """Seconds from a block's last byte to its acknowledgement, lowest recent sample."""
        return min(self._delays) if self._delays else None

    def window(self) -> int:
        """Bytes this stream may have unacknowledged now."""
        limits = self.limits
        if limits.fixed_blocks is not None:
            return limits.clamp(limits.fixed_blocks * limits.block_size)
        rate, delay = self.rate, self.delay
        if rate is None or delay is None:
            return limits.initial
        return limits.clamp(limits.block_size + GAIN * rate * delay)

    def may_send(self, outstanding: int, nbytes: int) -> bool:
        """Whether ``nbytes`` more may go when ``outstanding`` are unacknowledged. A stream with
        nothing outstanding may always send, so a block larger than the window still goes."""
        return outstanding == 0 or outstanding + nbytes <= self.window()
