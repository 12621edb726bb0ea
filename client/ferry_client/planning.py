"""Upload planning, free of I/O: how an upload in blocks starts (a new task while the file is
hashed, a task found by the file's hash, or a remembered task continued by its id), which blocks
to send, how to slice them into messages, which stream sends what next, and how many bytes
count as done.

Block ``i`` covers bytes ``[i*B, min((i+1)*B, size))`` of the file. Everything here is pure
decisions, arithmetic or thread-safe bookkeeping that the client's threads and RPCs drive.
"""

from __future__ import annotations

import collections
import enum
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ferry_client.models import TaskInfo, TaskState

KiB = 1024
MiB = 1024 * KiB
#: Most data bytes one UploadParts message may carry (the server's limit, and the best size).
MAX_MESSAGE_DATA = 1 * MiB


class Start(enum.Enum):
    """How an upload in blocks starts, from what the state file and the caller know."""

    #: The state file remembers a task for this very file: ask the server about it by id
    #: (GetTask) and continue it if it still takes blocks (:func:`judge_remembered`). A
    #: declaration with the hash would not find a task created without one.
    BY_ID = "by id"
    #: The SHA-256 is known (remembered for a task that is gone, or the file was read whole):
    #: CreateTask with it creates the task, or resumes the active one of this same file.
    BY_HASH = "by hash"
    #: Nothing is known: CreateTask without a hash at once, hash the file on a thread while the
    #: blocks travel, and give the hash at Merge. If a task already holds the store_path, wait
    #: for the hash and start BY_HASH instead (it may be this file's, declared with its hash).
    FRESH = "fresh"


def plan_start(*, remembered_task_id: str | None, sha256: str) -> Start:
    """How to start: by the remembered task's id, else by the known ``sha256``, else fresh."""
    if remembered_task_id:
        return Start.BY_ID
    if sha256:
        return Start.BY_HASH
    return Start.FRESH


class RememberedTask(enum.Enum):
    """What to do with the task the state file remembers, once the server described it."""

    #: It takes blocks (UPLOADING), or it published this very file (COMPLETED with the
    #: remembered hash: its Merge answers the same result again). Continue it by its id.
    CONTINUE = "continue"
    #: PAUSED: stop with TaskPaused and keep the entry, for an upload after the resume.
    PAUSED = "paused"
    #: Unknown to the server, ended, or not this file's: forget the entry and start over
    #: (:func:`plan_start` without it).
    GONE = "gone"


def judge_remembered(
    task: TaskInfo | None, *, size: int, store_path: str, sha256: str
) -> RememberedTask:
    """The verdict on a remembered task (``None``: the server does not know it) for a file of
    ``size`` bytes going to ``store_path``, whose SHA-256 is ``sha256`` ("" if not known yet)."""
    if task is None or task.size != size or task.store_path != store_path:
        return RememberedTask.GONE
    declared_other = bool(task.sha256 and sha256 and task.sha256 != sha256.lower())
    if task.state in (TaskState.UPLOADING, TaskState.PAUSED):
        if declared_other:
            return RememberedTask.GONE
        return RememberedTask.PAUSED if task.state == TaskState.PAUSED else RememberedTask.CONTINUE
    if task.state == TaskState.COMPLETED and sha256 and not declared_other:
        return RememberedTask.CONTINUE
    return RememberedTask.GONE


def is_lost_declaration(
    task: TaskInfo,
    *,
    file_name: str,
    size: int,
    store_path: str,
    metadata: Mapping[str, str],
    block_size: int,
    overwrite: bool,
) -> bool:
    """Whether ``task`` is what a CreateTask without a hash, declaring exactly these values,
    created although its reply never arrived: no hash, UPLOADING, nothing committed yet, and
    everything else as declared (``block_size`` 0: the server's choice).

    Such a task never resumes by declaration, so only its id, named by the ALREADY_EXISTS the
    retry meets, leads back to it; left alone it would hold the store_path until it expires.
    """
    return (
        not task.sha256
        and task.state == TaskState.UPLOADING
        and task.committed_bytes == 0
        and task.file_name == file_name
        and task.size == size
        and task.store_path == store_path
        and dict(task.metadata) == dict(metadata)
        and block_size in (0, task.block_size)
        and task.overwrite == overwrite
    )


class SameFile(enum.Enum):
    """Whether a task that holds the store_path, found without the state file (another
    replica's address, a lost state file), holds this local file's bytes."""

    #: At least one block is committed and every committed block's CRC32C is the local
    #: file's: resume it. (A CRC32C per block is no proof against an attacker who knows the
    #: file; Merge still verifies the whole file's SHA-256 before anything is published.)
    SAME = "same"
    #: Some committed block differs, or one lies outside the file: another file's task.
    DIFFERENT = "different"
    #: Nothing committed: nothing tells whose task it is, and it holds nothing to resume.
    UNPROVEN = "unproven"


def proof_blocks(
    size: int, block_size: int, committed: Sequence[tuple[int, int]]
) -> list[Block] | None:
    """The local blocks to read to check ``committed`` (index, crc32c) pairs against a file
    of ``size`` bytes in ``block_size`` blocks; ``None`` if an index lies outside the file."""
    count = block_count(size, block_size) if size else 0
    if any(not 0 <= index < count for index, _ in committed):
        return None
    return [block_at(size, block_size, index) for index, _ in committed]


def judge_same_file(
    committed: Sequence[tuple[int, int]], local: Mapping[int, int] | None, committed_bytes: int
) -> SameFile:
    """The verdict on a task whose committed blocks are ``committed`` (index, crc32c) and
    ``committed_bytes`` long, given the local file's CRC32C of those blocks (``None``:
    :func:`proof_blocks` found an index outside the file). Bytes committed but no block
    listed (a server that does not list them) prove nothing either way: DIFFERENT, so the
    task is left alone."""
    if local is None:
        return SameFile.DIFFERENT
    if not committed:
        return SameFile.UNPROVEN if committed_bytes == 0 else SameFile.DIFFERENT
    if all(local.get(index) == crc for index, crc in committed):
        return SameFile.SAME
    return SameFile.DIFFERENT


#: Failed attempts that carried data but committed nothing after which a link is taken to be
#: too flaky for the task's blocks (each connection dies before one block gets through).
FAILURES_BEFORE_SMALLER_BLOCKS = 3
#: Blocks are never made smaller than this for a flaky link (below it, per-block costs rule).
SMALLEST_ADAPTED_BLOCK = 1 * MiB
#: Block sizes are multiples of this (the protocol's alignment).
BLOCK_ALIGNMENT = 64 * KiB


def smaller_block_size(
    block_size: int, *, carried: Sequence[int], committed: int, streams: int
) -> int | None:
    """The block size to start a task over with when no block gets through a flaky link, or
    ``None`` to keep going as it is.

    ``carried``: the data bytes each failed attempt (a round of ``streams`` streams sharing
    one connection) sent before it failed, those that sent nothing left out (a server that is
    down is not a flaky link). Once :data:`FAILURES_BEFORE_SMALLER_BLOCKS` attempts carried
    data and the task still has nothing committed (so starting over loses nothing), a block
    should fit twice in what one stream typically gets through: half the median per stream,
    aligned down, at least :data:`SMALLEST_ADAPTED_BLOCK`, at most half the current size.
    """
    if committed or len(carried) < FAILURES_BEFORE_SMALLER_BLOCKS:
        return None
    half = block_size // 2 // BLOCK_ALIGNMENT * BLOCK_ALIGNMENT
    if half < SMALLEST_ADAPTED_BLOCK:
        return None
    recent = sorted(carried[-FAILURES_BEFORE_SMALLER_BLOCKS:])
    per_stream = recent[len(recent) // 2] // max(1, streams)
    fitting = per_stream // 2 // BLOCK_ALIGNMENT * BLOCK_ALIGNMENT
    return max(SMALLEST_ADAPTED_BLOCK, min(half, fitting))


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
