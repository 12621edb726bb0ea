"""Upload planning, free of I/O: which blocks to send, how to slice them into messages, which
stream sends what next, and how many bytes count as done.

Block ``i`` covers bytes ``[i*B, min((i+1)*B, size))`` of the file. Everything here is pure
arithmetic or thread-safe bookkeeping that the gRPC layer drives.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
#: Most data bytes one UploadParts message may carry (the server's limit, and the best size).
MAX_MESSAGE_DATA = 1 * MiB


@dataclass(frozen=True, slots=True)
class BlockRange:
    """A half-open range ``[start, end)`` of block indexes."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad block range [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the file: its index, where it starts in the file, and its length."""

    index: int
    offset: int
    length: int


def block_count(size: int, block_size: int) -> int:
    """``ceil(size / block_size)``; 0 for an empty file."""
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    return -(-size // block_size)


def block_at(size: int, block_size: int, index: int) -> Block:
    """Block ``index`` of a file of ``size`` bytes cut into ``block_size`` blocks."""
    if not 0 <= index < block_count(size, block_size):
        raise ValueError(f"block {index} is out of range for {size} bytes in {block_size}")
    offset = index * block_size
    return Block(index, offset, min(block_size, size - offset))


def normalise(ranges: Iterable[BlockRange], count: int) -> list[BlockRange]:
    """Sorted, disjoint, non-empty ranges clipped to ``[0, count)``."""
    merged: list[BlockRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        start, end = r.start, min(r.end, count)
        if start >= end:
            continue
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = BlockRange(merged[-1].start, end)
            continue
        merged.append(BlockRange(start, end))
    return merged


def missing_bytes(size: int, block_size: int, missing: Iterable[BlockRange]) -> int:
    """Bytes of the file in the ``missing`` blocks (the last block may be short)."""
    count = block_count(size, block_size)
    total = 0
    for r in normalise(missing, count):
        total += len(r) * block_size
        if r.end == count:
            total -= count * block_size - size
    return total


def committed_bytes(size: int, block_size: int, missing: Iterable[BlockRange]) -> int:
    """Bytes of the file in blocks that are not missing."""
    return size - missing_bytes(size, block_size, missing)


def message_slices(length: int, max_message: int = MAX_MESSAGE_DATA) -> Iterator[tuple[int, int]]:
    """``(offset within the block, length)`` of each message carrying a block of ``length``."""
    if max_message <= 0:
        raise ValueError("max_message must be positive")
    offset = 0
    while offset < length:
        piece = min(max_message, length - offset)
        yield offset, piece
        offset += piece


class WorkQueue:
    """The blocks still to send, shared by every stream; streams take from the front.

    Holds ranges, not one entry per block, so a huge file's plan stays small. A block taken and
    then lost (stream cut, checksum rejected) is put back at the front so it goes out again
    before newer work. Thread-safe.
    """

    def __init__(self, size: int, block_size: int, missing: Iterable[BlockRange]) -> None:
        self._size = size
        self._block_size = block_size
        self._ranges = collections.deque(normalise(missing, block_count(size, block_size)))
        self._lock = threading.Lock()

    def take(self) -> Block | None:
        """The next block to send, or ``None`` when nothing is queued."""
        with self._lock:
            if not self._ranges:
                return None
            first = self._ranges[0]
            if len(first) == 1:
                self._ranges.popleft()
            else:
                self._ranges[0] = BlockRange(first.start + 1, first.end)
            return block_at(self._size, self._block_size, first.start)

    def put_back(self, block: Block) -> None:
        with self._lock:
            self._ranges.appendleft(BlockRange(block.index, block.index + 1))

    def __len__(self) -> int:
        """Blocks queued."""
        with self._lock:
            return sum(len(r) for r in self._ranges)


ProgressCallback = Callable[[int, int], None]


class ProgressAccount:
    """Bytes done out of the file's total: committed blocks plus bytes sent of blocks in flight.

    Bytes of a block in flight that is lost (stream cut, checksum rejected) are taken off
    again, so ``done`` can move backwards by at most the lost partial blocks. Thread-safe; the
    callback runs under the account's lock, from whichever thread moved the count.
    """

    def __init__(self, total: int, committed: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self._committed = committed
        self._in_flight: dict[int, int] = {}
        self._callback = callback
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        with self._lock:
            return self._committed + sum(self._in_flight.values())

    def reset(self, committed: int) -> None:
        """The server says ``committed`` bytes are committed; nothing is in flight."""
        with self._lock:
            self._committed = committed
            self._in_flight.clear()
            self._report()

    def sent(self, index: int, nbytes: int) -> None:
        with self._lock:
            self._in_flight[index] = self._in_flight.get(index, 0) + nbytes
            self._report()

    def committed(self, index: int, length: int) -> None:
        with self._lock:
            self._in_flight.pop(index, None)
            self._committed += length
            self._report()

    def lost(self, index: int) -> None:
        with self._lock:
            if self._in_flight.pop(index, 0):
                self._report()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(self._committed + sum(self._in_flight.values()), self.total)
